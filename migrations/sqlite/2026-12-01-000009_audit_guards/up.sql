-- The review audit is paged by reviewer and by submission (GET /api/v1/admin/audit/reviews),
-- like the verification audit: without these a filter reads the whole table.
CREATE INDEX review_audit_reviewer ON review_audit (reviewer_token_id, id);
CREATE INDEX review_audit_submission ON review_audit (submission_id, id);
