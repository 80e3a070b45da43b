-- Compact roadside codes (docs/code-format.md): each e-licence gets a serial number, the `e`
-- claim of its codes (and the index of its entry in the offline status list); each display
-- code gets a unique `jti`, kept with its barcode token and in the audit of its scans.
ALTER TABLE e_licences ADD COLUMN serial BIGINT;
UPDATE e_licences SET serial = rowid;
CREATE UNIQUE INDEX e_licences_serial ON e_licences (serial);
-- SQLite has no sequences; writers are serialised, so the next serial is the largest plus one.
CREATE TRIGGER e_licences_assign_serial AFTER INSERT ON e_licences WHEN NEW.serial IS NULL
BEGIN
    UPDATE e_licences SET serial = (SELECT COALESCE(MAX(serial), 0) + 1 FROM e_licences)
    WHERE rowid = NEW.rowid;
END;

ALTER TABLE barcode_tokens ADD COLUMN jti TEXT;
CREATE UNIQUE INDEX barcode_tokens_jti ON barcode_tokens (jti);

ALTER TABLE verification_audit ADD COLUMN jti TEXT;
