DROP TABLE verification_audit;
DROP TABLE barcode_tokens;
DROP TABLE e_licences;
