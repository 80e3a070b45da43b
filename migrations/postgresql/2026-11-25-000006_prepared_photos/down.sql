ALTER TABLE licences DROP COLUMN photo_checks_failed;
ALTER TABLE licences DROP COLUMN photo_prepared;
