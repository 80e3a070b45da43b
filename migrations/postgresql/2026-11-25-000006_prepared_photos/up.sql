-- The photo on file made ready for an e-licence when the registry sends it: the normalised
-- copy's key in photo_store and the pre-checks it fails ('' when none, 'unreadable' when it
-- cannot be decoded). NULL until prepared: issuance then prepares it itself, once.
ALTER TABLE licences ADD COLUMN photo_prepared TEXT;
ALTER TABLE licences ADD COLUMN photo_checks_failed TEXT;
