-- The local copy of the national licence registry, and the API tokens that read it.
-- Instants are TIMESTAMP (without time zone) holding UTC.
CREATE TABLE licences (
    number             TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    sex                TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    nationality        TEXT NOT NULL,
    birth_date         DATE NOT NULL,
    address            TEXT NOT NULL,
    issuing_authority  TEXT NOT NULL,
    classes            TEXT NOT NULL,  -- comma-joined class codes, e.g. 'C1,D'
    first_issued       DATE NOT NULL,
    valid_from         DATE NOT NULL,
    valid_until        DATE,           -- NULL: long-term (长期)
    statuses           TEXT NOT NULL,  -- comma-joined registry state codes, '' when none
    points             INTEGER NOT NULL CHECK (points BETWEEN 0 AND 99),
    points_cycle_start DATE NOT NULL,
    medical_due        DATE,
    review_due         DATE,
    photo              BYTEA,
    photo_media_type   TEXT,
    photo_taken        DATE,
    synced_at          TIMESTAMP NOT NULL,
    created_at         TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id             TEXT PRIMARY KEY NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    licence_number TEXT REFERENCES licences (number),
    label          TEXT,
    created_at     TIMESTAMP NOT NULL,
    revoked_at     TIMESTAMP
);
