-- The photo back into each e-licence row (its position in the row does not matter to the
-- queries). The licences' photo column keeps its new place: only the order changed.
ALTER TABLE e_licences ADD COLUMN photo BLOB NOT NULL DEFAULT x'';
UPDATE e_licences
    SET photo = (SELECT bytes FROM photo_store WHERE photo_store.sha256 = e_licences.photo_sha256);
