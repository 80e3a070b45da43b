-- An e-licence's photo is always a normalised copy, and those live in photo_store by their
-- SHA-256 already (uploads, prepared photos on file): the e-licence keeps only the digest, and
-- the rows read on every verification carry no photo. (PostgreSQL keeps large values out of
-- line anyway; the licences' photo on file needs no move here, unlike on SQLite.)
INSERT INTO photo_store (sha256, media_type, bytes, stored_at)
    SELECT photo_sha256, photo_media_type, photo, generated_at FROM e_licences
    ON CONFLICT (sha256) DO NOTHING;
ALTER TABLE e_licences DROP COLUMN photo;
