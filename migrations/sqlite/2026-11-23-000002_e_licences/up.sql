-- Issued e-licences, the one-time barcode tokens of their display codes, and the append-only
-- audit of every roadside verification.
CREATE TABLE e_licences (
    id                TEXT PRIMARY KEY NOT NULL,
    licence_number    TEXT NOT NULL REFERENCES licences (number),
    state             TEXT NOT NULL CHECK (state IN ('current', 'superseded')),
    photo_source      TEXT NOT NULL,
    photo             BLOB NOT NULL,
    photo_media_type  TEXT NOT NULL,
    photo_sha256      TEXT NOT NULL,
    generated_at      TIMESTAMP NOT NULL,
    superseded_at     TIMESTAMP
);
-- One current e-licence per licence: concurrent issuance creates exactly one.
CREATE UNIQUE INDEX e_licences_one_current ON e_licences (licence_number) WHERE state = 'current';

-- A display code: the signed QR text and its one-time barcode token, which expire together.
CREATE TABLE barcode_tokens (
    token         TEXT PRIMARY KEY NOT NULL,
    e_licence_id  TEXT NOT NULL REFERENCES e_licences (id),
    code          TEXT NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    used_at       TIMESTAMP
);
CREATE INDEX barcode_tokens_expiry ON barcode_tokens (expires_at);
CREATE INDEX barcode_tokens_e_licence ON barcode_tokens (e_licence_id, expires_at);

CREATE TABLE verification_audit (
    id               INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    verified_at      TIMESTAMP NOT NULL,
    officer_token_id TEXT NOT NULL,
    terminal_label   TEXT,
    method           TEXT NOT NULL,
    e_licence_id     TEXT,
    valid            BOOLEAN NOT NULL,
    reasons          TEXT NOT NULL
);
CREATE INDEX verification_audit_officer ON verification_audit (officer_token_id, id);
CREATE INDEX verification_audit_e_licence ON verification_audit (e_licence_id, id);

CREATE TRIGGER verification_audit_no_update BEFORE UPDATE ON verification_audit
BEGIN SELECT RAISE(ABORT, 'verification_audit is append-only'); END;
CREATE TRIGGER verification_audit_no_delete BEFORE DELETE ON verification_audit
BEGIN SELECT RAISE(ABORT, 'verification_audit is append-only'); END;
