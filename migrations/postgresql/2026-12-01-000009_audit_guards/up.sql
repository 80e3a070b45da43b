-- The review audit is paged by reviewer and by submission (GET /api/v1/admin/audit/reviews),
-- like the verification audit: without these a filter reads the whole table.
CREATE INDEX review_audit_reviewer ON review_audit (reviewer_token_id, id);
CREATE INDEX review_audit_submission ON review_audit (submission_id, id);

-- Append-only means TRUNCATE too: row triggers refuse UPDATE and DELETE, but TRUNCATE fires
-- only statement triggers. (SQLite has no TRUNCATE; its DELETE triggers cover it.)
CREATE TRIGGER verification_audit_no_truncate BEFORE TRUNCATE ON verification_audit
FOR EACH STATEMENT EXECUTE FUNCTION verification_audit_append_only();
CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit
FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only();
CREATE TRIGGER registry_events_no_truncate BEFORE TRUNCATE ON registry_events
FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER counter_audit_no_truncate BEFORE TRUNCATE ON counter_audit
FOR EACH STATEMENT EXECUTE FUNCTION append_only();
