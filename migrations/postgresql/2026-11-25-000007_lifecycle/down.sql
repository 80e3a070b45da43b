DROP INDEX licences_by_authority;
DROP TABLE counter_audit;
DROP TABLE registry_events;
DROP FUNCTION append_only();
ALTER TABLE barcode_tokens DROP COLUMN purpose;
ALTER TABLE e_licences DROP COLUMN issued_by;
ALTER TABLE e_licences DROP COLUMN issued_via;
ALTER TABLE e_licences DROP COLUMN superseded_reason;
ALTER TABLE api_tokens DROP COLUMN scope;
