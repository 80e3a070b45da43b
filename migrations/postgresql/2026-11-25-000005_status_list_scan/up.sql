-- The offline status list reads every e-licence's serial, state and licence number in serial
-- order (storage::e_licences::for_each_status_row). From this index alone: the table rows,
-- which hold the e-licence photos, are not read.
CREATE INDEX e_licences_status_scan ON e_licences (serial, state, licence_number);
