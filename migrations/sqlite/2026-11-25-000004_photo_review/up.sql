-- Photo intake and human review: normalised photos by content, the submissions that wait in
-- the review queue, the append-only audit of reviewers' actions, and the outbox of what
-- holders must hear about (for SMS and push gateways and GET /api/v1/me/notifications).

-- Normalised JPEGs by SHA-256, apart from the rows read on every request.
CREATE TABLE photo_store (
    sha256      TEXT PRIMARY KEY NOT NULL,
    media_type  TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    stored_at   TIMESTAMP NOT NULL
);

CREATE TABLE photo_submissions (
    id                TEXT PRIMARY KEY NOT NULL,
    licence_number    TEXT NOT NULL REFERENCES licences (number),
    purpose           TEXT NOT NULL CHECK (purpose IN ('first_application', 'photo_change')),
    source            TEXT NOT NULL CHECK (source IN ('camera', 'album')),
    state             TEXT NOT NULL
                      CHECK (state IN ('pending_review', 'approved', 'rejected', 'superseded')),
    photo_sha256      TEXT NOT NULL REFERENCES photo_store (sha256),
    prechecks         TEXT NOT NULL,
    submitted_at      TIMESTAMP NOT NULL,
    deadline          TIMESTAMP NOT NULL,
    claimed_by        TEXT,
    claim_expires_at  TIMESTAMP,
    decided_by        TEXT,
    decided_at        TIMESTAMP,
    decision_reason   TEXT,
    decision_note     TEXT,
    e_licence_id      TEXT REFERENCES e_licences (id)
);
-- One waiting submission per licence: a new upload supersedes the earlier one.
CREATE UNIQUE INDEX photo_submissions_one_pending ON photo_submissions (licence_number)
    WHERE state = 'pending_review';
-- The queue, oldest deadline first. Not a partial index: queries bind the state as a
-- parameter, and SQLite cannot prove a bound value matches a partial index's condition.
CREATE INDEX photo_submissions_queue ON photo_submissions (state, deadline, id);
CREATE INDEX photo_submissions_by_licence ON photo_submissions (licence_number, submitted_at);
CREATE INDEX photo_submissions_decisions ON photo_submissions (decided_by, decided_at);

CREATE TABLE review_audit (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at                 TIMESTAMP NOT NULL,
    reviewer_token_id  TEXT NOT NULL,
    submission_id      TEXT NOT NULL,
    action             TEXT NOT NULL,
    reason             TEXT,
    note               TEXT
);
CREATE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit
BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END;
CREATE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit
BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END;

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    licence_number  TEXT NOT NULL REFERENCES licences (number),
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP
);
CREATE INDEX notifications_by_licence ON notifications (licence_number, id);
CREATE INDEX notifications_undelivered ON notifications (id) WHERE delivered_at IS NULL;
