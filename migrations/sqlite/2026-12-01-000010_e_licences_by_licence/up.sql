-- A licence's e-licences, newest first: its history pages, and the current one
-- (storage::e_licences::current_for), which is looked for among them rather than through the
-- partial unique index that keeps it unique.
CREATE INDEX e_licences_by_licence ON e_licences (licence_number, serial);
