DROP TRIGGER counter_audit_no_truncate ON counter_audit;
DROP TRIGGER registry_events_no_truncate ON registry_events;
DROP TRIGGER review_audit_no_truncate ON review_audit;
DROP TRIGGER verification_audit_no_truncate ON verification_audit;
DROP INDEX review_audit_submission;
DROP INDEX review_audit_reviewer;
