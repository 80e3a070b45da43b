-- Compact roadside codes (docs/code-format.md): each e-licence gets a serial number, the `e`
-- claim of its codes (and the index of its entry in the offline status list); each display
-- code gets a unique `jti`, kept with its barcode token and in the audit of its scans.
ALTER TABLE e_licences ADD COLUMN serial BIGSERIAL;
CREATE UNIQUE INDEX e_licences_serial ON e_licences (serial);

ALTER TABLE barcode_tokens ADD COLUMN jti TEXT;
CREATE UNIQUE INDEX barcode_tokens_jti ON barcode_tokens (jti);

ALTER TABLE verification_audit ADD COLUMN jti TEXT;
