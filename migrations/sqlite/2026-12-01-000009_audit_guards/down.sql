DROP INDEX review_audit_submission;
DROP INDEX review_audit_reviewer;
