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

-- Refuses any change to an append-only table, naming it.
CREATE FUNCTION append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

-- Every change the registry sent, as applied, kept for good.
CREATE TABLE registry_events (
    id                    BIGSERIAL PRIMARY KEY,
    licence_number        TEXT NOT NULL REFERENCES licences (number),
    kind                  TEXT NOT NULL,
    detail                TEXT NOT NULL,
    source                TEXT NOT NULL,
    actor                 TEXT,
    superseded_e_licence  TEXT REFERENCES e_licences (id),
    recorded_at           TIMESTAMP NOT NULL
);
CREATE INDEX registry_events_by_licence ON registry_events (licence_number, id);
CREATE TRIGGER registry_events_no_change BEFORE UPDATE OR DELETE ON registry_events
FOR EACH ROW EXECUTE FUNCTION append_only();

-- Every action of a clerk at the counter.
CREATE TABLE counter_audit (
    id              BIGSERIAL PRIMARY KEY,
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
CREATE TRIGGER counter_audit_no_change BEFORE UPDATE OR DELETE ON counter_audit
FOR EACH ROW EXECUTE FUNCTION append_only();

-- A clerk lists the licences of one issuing authority.
CREATE INDEX licences_by_authority ON licences (issuing_authority, number);
