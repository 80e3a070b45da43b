DROP TABLE notifications;
DROP TABLE review_audit;
DROP FUNCTION review_audit_append_only;
DROP TABLE photo_submissions;
DROP TABLE photo_store;
