-- Written and emptied by the readiness probe (Database::write_probe): a write that fails as
-- the service's own writes do (read-only server, lost connection), so /readyz fails with them.
CREATE TABLE storage_probe (
    id BIGSERIAL PRIMARY KEY,
    filler BYTEA NOT NULL
);
