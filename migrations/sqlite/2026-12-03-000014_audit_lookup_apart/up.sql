-- The verifier appends a batch of audit rows in each commit. With an index by officer and
-- one by e-licence on the table, that commit also rewrote a page of the e-licence index for
-- nearly every scan of the batch (drivers are stopped in no order), and a page of the
-- officer index for each terminal: tens of pages a commit where the rows take one or two,
-- each written to the log and synced before the scans are answered.
--
-- On SQLite these two lookups now live in a file of their own, `<database>-audit-index`,
-- which the server fills in bulk a few times a second and can always rebuild from this
-- table (storage::audit_index). The audit's commits only append.
DROP INDEX verification_audit_officer;
DROP INDEX verification_audit_e_licence;
