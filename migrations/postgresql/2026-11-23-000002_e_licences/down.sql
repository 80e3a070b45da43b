DROP TABLE verification_audit;
DROP FUNCTION verification_audit_append_only();
DROP TABLE barcode_tokens;
DROP TABLE e_licences;
