DROP TABLE notifications;
DROP TABLE review_audit;
DROP TABLE photo_submissions;
DROP TABLE photo_store;
