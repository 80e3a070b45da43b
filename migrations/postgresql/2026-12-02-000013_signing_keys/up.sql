-- Which signing key signs and which are published (the key states), shared by every process
-- over this database; the private keys stay files (docs/storage-and-keys.md). Changed only by
-- the keys CLI (and a server's first start), one transaction per command.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('next', 'active', 'rotated', 'retired')),
    created_at   TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    rotated_at   TIMESTAMP,
    retired_at   TIMESTAMP
);
-- At most one key signs and at most one is prepared, whatever races: a second would be
-- refused by the database, not only by the rules the CLI applies under its lock.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';
