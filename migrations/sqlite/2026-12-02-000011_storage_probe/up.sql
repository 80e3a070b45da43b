-- Written and emptied by the readiness probe (Database::write_probe): a write that allocates
-- pages as the service's own writes do, so /readyz fails while they would.
CREATE TABLE storage_probe (
    id INTEGER PRIMARY KEY,
    filler BLOB NOT NULL
);
