DROP INDEX e_licences_status_scan;
