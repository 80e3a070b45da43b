-- The lifecycle: registry events and what they did, why an e-licence was superseded, counter
-- issuance by clerks, and purpose-bound display codes.

-- What a token is bound to besides its role: a clerk's issuing authority, a partner's purpose.
ALTER TABLE api_tokens ADD COLUMN scope TEXT;

-- Why an e-licence stopped standing (class_changed, renewed, authority_changed, …).
ALTER TABLE e_licences ADD COLUMN superseded_reason TEXT;
-- 'app', or 'counter' when a clerk issued it on the holder's behalf (issued_by: the clerk).
ALTER TABLE e_licences ADD COLUMN issued_via TEXT NOT NULL DEFAULT 'app';
ALTER TABLE e_licences ADD COLUMN issued_by TEXT;

-- The purpose a display code was signed for: roadside, rental, insurance, employment.
ALTER TABLE barcode_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'roadside';

-- Every change the registry sent, as applied, kept for good.
CREATE TABLE registry_events (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    licence_number        TEXT NOT NULL REFERENCES licences (number),
    kind                  TEXT NOT NULL,
    detail                TEXT NOT NULL,
    source                TEXT NOT NULL,
    actor                 TEXT,
    superseded_e_licence  TEXT REFERENCES e_licences (id),
    recorded_at           TIMESTAMP NOT NULL
);
CREATE INDEX registry_events_by_licence ON registry_events (licence_number, id);
CREATE TRIGGER registry_events_no_update BEFORE UPDATE ON registry_events
BEGIN SELECT RAISE(ABORT, 'registry_events is append-only'); END;
CREATE TRIGGER registry_events_no_delete BEFORE DELETE ON registry_events
BEGIN SELECT RAISE(ABORT, 'registry_events is append-only'); END;

-- Every action of a clerk at the counter.
CREATE TABLE counter_audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at              TIMESTAMP NOT NULL,
    clerk_token_id  TEXT NOT NULL,
    authority       TEXT NOT NULL,
    action          TEXT NOT NULL,
    licence_number  TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    detail          TEXT
);
CREATE INDEX counter_audit_by_clerk ON counter_audit (clerk_token_id, id);
CREATE INDEX counter_audit_by_licence ON counter_audit (licence_number, id);
CREATE TRIGGER counter_audit_no_update BEFORE UPDATE ON counter_audit
BEGIN SELECT RAISE(ABORT, 'counter_audit is append-only'); END;
CREATE TRIGGER counter_audit_no_delete BEFORE DELETE ON counter_audit
BEGIN SELECT RAISE(ABORT, 'counter_audit is append-only'); END;

-- A clerk lists the licences of one issuing authority.
CREATE INDEX licences_by_authority ON licences (issuing_authority, number);
