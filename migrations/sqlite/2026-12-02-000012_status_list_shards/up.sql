-- Sharded status lists (docs/status-lists.md): each e-licence has a position in a list of
-- 2^20 entries, its codes' `e` = status_list * 2^20 + status_index, and keeps its own list
-- status (0 VALID, 1 INVALID, 2 SUSPENDED), written in the transaction of whatever changes
-- it, with the next date on which time alone can change it. (SQLite cannot add a NOT NULL
-- column without a default: the application always writes the position.)
ALTER TABLE e_licences ADD COLUMN status_list INTEGER;
ALTER TABLE e_licences ADD COLUMN status_index INTEGER;
ALTER TABLE e_licences ADD COLUMN list_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE e_licences ADD COLUMN list_status_recheck_on DATE;
-- Existing codes keep their `e` (it was the serial). A superseded e-licence is INVALID for
-- good; a current one is marked due for a recheck today, so the first maintenance pass
-- computes its status before any list is signed (service::status_list::maintain).
UPDATE e_licences SET
    status_list = serial >> 20,
    status_index = serial & 1048575,
    list_status = CASE WHEN state = 'superseded' THEN 1 ELSE 0 END,
    list_status_recheck_on = CASE WHEN state = 'current' THEN '1970-01-01' END;
-- An index is never given twice (a new e-licence draws among the free ones).
CREATE UNIQUE INDEX e_licences_list_position ON e_licences (status_list, status_index);
-- Signing one list reads only its entries that are not VALID.
CREATE INDEX e_licences_listed ON e_licences (status_list, status_index) WHERE list_status <> 0;
-- The sweep finds the e-licences whose status may change by date.
CREATE INDEX e_licences_recheck ON e_licences (list_status_recheck_on)
    WHERE list_status_recheck_on IS NOT NULL;
-- The full scan of every e-licence is gone.
DROP INDEX e_licences_status_scan;

-- One row a list: how many indexes are given out, the version of its content (bumped in the
-- transaction of every change), and the one signed token served.
CREATE TABLE status_lists (
    list_id           INTEGER PRIMARY KEY NOT NULL CHECK (list_id >= 0),
    allocated         INTEGER NOT NULL DEFAULT 0,
    content_version   BIGINT NOT NULL DEFAULT 0,
    changed_at        TIMESTAMP NOT NULL,
    signed_version    BIGINT NOT NULL DEFAULT -1,
    signings          BIGINT NOT NULL DEFAULT 0,
    token             TEXT,
    etag              TEXT,
    kid               TEXT,
    signed_at         TIMESTAMP,
    expires_at        TIMESTAMP,
    entries_invalid   INTEGER NOT NULL DEFAULT 0,
    entries_suspended INTEGER NOT NULL DEFAULT 0
);
INSERT INTO status_lists (list_id, allocated, content_version, changed_at)
SELECT status_list, COUNT(*), 1, CURRENT_TIMESTAMP FROM e_licences GROUP BY status_list;
-- List 0 always exists: the single-list URL of older terminals serves it.
INSERT INTO status_lists (list_id, changed_at)
SELECT 0, CURRENT_TIMESTAMP WHERE NOT EXISTS (SELECT 1 FROM status_lists WHERE list_id = 0);
