DROP INDEX e_licences_by_licence;
