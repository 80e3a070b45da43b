-- Photos apart from the rows read on every request. SQLite stores a row's columns one after
-- the other, so reading any column stored after a photo walks the photo's overflow pages: a
-- verification (the e-licence by serial, then its licence) read two photos' worth of pages to
-- reach `serial` and `synced_at`.
--
-- An e-licence's photo is always a normalised copy, and those live in photo_store by their
-- SHA-256 already (uploads, prepared photos on file): the e-licence keeps only the digest.
INSERT OR IGNORE INTO photo_store (sha256, media_type, bytes, stored_at)
    SELECT photo_sha256, photo_media_type, photo, generated_at FROM e_licences;
ALTER TABLE e_licences DROP COLUMN photo;

-- The registry's photo on file stays with its licence (the import writes both at once), but
-- as the row's last column, so that no other column is stored after it.
ALTER TABLE licences RENAME COLUMN photo TO photo_before_move;
ALTER TABLE licences ADD COLUMN photo BLOB;
UPDATE licences SET photo = photo_before_move WHERE photo_before_move IS NOT NULL;
ALTER TABLE licences DROP COLUMN photo_before_move;
