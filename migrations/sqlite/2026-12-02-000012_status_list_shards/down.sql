DROP TABLE status_lists;
CREATE INDEX e_licences_status_scan ON e_licences (serial, state, licence_number);
DROP INDEX e_licences_recheck;
DROP INDEX e_licences_listed;
DROP INDEX e_licences_list_position;
ALTER TABLE e_licences DROP COLUMN list_status_recheck_on;
ALTER TABLE e_licences DROP COLUMN list_status;
ALTER TABLE e_licences DROP COLUMN status_index;
ALTER TABLE e_licences DROP COLUMN status_list;
