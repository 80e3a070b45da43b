CREATE INDEX e_licences_status_scan ON e_licences (serial, state, licence_number);
