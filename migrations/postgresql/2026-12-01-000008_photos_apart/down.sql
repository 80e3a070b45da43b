ALTER TABLE e_licences ADD COLUMN photo BYTEA NOT NULL DEFAULT '';
UPDATE e_licences e SET photo = p.bytes FROM photo_store p WHERE p.sha256 = e.photo_sha256;
ALTER TABLE e_licences ALTER COLUMN photo DROP DEFAULT;
