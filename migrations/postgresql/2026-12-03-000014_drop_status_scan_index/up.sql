-- The covering index of the old single status list's full scan (for_each_status_row, gone
-- since the lists were sharded and kept up to date incrementally): no query reads it any
-- more, and every issuance paid for it (at 250 M e-licences, some 10 GB written for nothing).
DROP INDEX e_licences_status_scan;
