ALTER TABLE verification_audit DROP COLUMN jti;
DROP INDEX barcode_tokens_jti;
ALTER TABLE barcode_tokens DROP COLUMN jti;
DROP TRIGGER e_licences_assign_serial;
DROP INDEX e_licences_serial;
ALTER TABLE e_licences DROP COLUMN serial;
