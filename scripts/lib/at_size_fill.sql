-- The filler e-licences of scripts/load-at-size.sh (docs/at-size.md): :filler e-licences made
-- by set-based SQL in one transaction, instead of the hours that many issuances over HTTP take,
-- so that the e-licence tables and their indexes have the size and the shape they have at that
-- many e-licences. No measured request reads a filler row; the rows are there for the depth of
-- the indexes the hot queries probe, the sizes of tables and indexes, the planner's statistics
-- and the status lists' fill. So each row keeps every rule the schema and the code rely on:
--
-- * one current e-licence per licence, on a licence that may have one (eligible today, the
--   same rules as domain::eligibility), never on a licence of the load's reserve (:reserve,
--   read from standard input: the first generated licences, whose holders the load issues to
--   over HTTP);
-- * its position drawn as service::status_list::allocate draws it: the lowest list below
--   LIST_FILL (75 % of 2^20) takes the next e-licences, each at a random free index (index 0
--   of list 0 never given); lists are filled in order, so the real e-licences issued after
--   the filler land at random free indexes of the last, partly filled list, as they would;
-- * its entry as service::status_list::entries writes it: a current e-licence of an eligible
--   licence VALID (0), its recheck day the first day time alone changes the verdict
--   (domain::eligibility::next_change_after: the day after valid_until, medical_due or
--   review_due), so the first maintenance pass sweeps none of them; a superseded one INVALID
--   (1) with no recheck day;
-- * each list's row in status_lists counting its indexes given out (`allocated`, what the
--   allocator reads) with a content version above the signed one (-1), so the first pass
--   signs each list once from the rows;
-- * its photo in photo_store by digest: every filler row shares the prepared photo on file of
--   a reserve licence (the generated portrait is one JPEG for everyone);
-- * a holder token for each filler holder (api_tokens at its size; a hash of no secret).
--
-- :superseded_pct per cent of the filler are superseded e-licences (reason class_changed)
-- whose licence has a filler current one issued later, the INVALID entries a list has.
-- Runs only on a database with no e-licence yet: the positions start at list 0.
\set ON_ERROR_STOP on
BEGIN;

CREATE FUNCTION pg_temp.check(ok BOOLEAN, what TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN RAISE EXCEPTION 'at-size filler: %', what; END IF;
END $$;

SELECT pg_temp.check(NOT EXISTS (SELECT 1 FROM e_licences), 'the database holds e-licences already');

CREATE TEMP TABLE reserve (number TEXT PRIMARY KEY) ON COMMIT DROP;
\copy reserve FROM pstdin

-- The constants of src/status_list/position.rs and src/domain/licence.rs.
\set list_size 1048576
\set list_fill 786432
\set points_limit 12
SELECT round(:filler * :superseded_pct / 100.0)::BIGINT AS superseded \gset
SELECT :filler - :superseded AS current \gset
-- "Today" as the server sees it (clock::china_date) and now as it stores it (UTC).
SELECT (now() AT TIME ZONE 'Asia/Shanghai')::DATE AS today, (now() AT TIME ZONE 'UTC') AS now_utc \gset

-- The one photo every filler e-licence shows: a reserve holder's prepared photo on file.
SELECT p.sha256 AS photo_sha256, p.media_type AS photo_media_type
    FROM licences l JOIN photo_store p ON p.sha256 = l.photo_prepared LIMIT 1 \gset

-- The filler holders: eligible licences outside the reserve, in a random (seeded) order, as
-- holders apply in no order of their numbers. n numbers them 1…current.
SELECT setseed(0.7);
CREATE TEMP TABLE filler_holders ON COMMIT DROP AS
SELECT row_number() OVER () AS n, number, valid_until, medical_due, review_due FROM (
    SELECT l.number, l.valid_until, l.medical_due, l.review_due FROM licences l
    WHERE NOT EXISTS (SELECT 1 FROM reserve r WHERE r.number = l.number)
      AND l.statuses = '' AND l.points < :points_limit
      AND l.valid_from <= :'today'
      AND (l.valid_until IS NULL OR l.valid_until >= :'today')
      AND (l.medical_due IS NULL OR l.medical_due >= :'today')
      AND (l.review_due IS NULL OR l.review_due >= :'today')
    ORDER BY random() LIMIT :current
) chosen;
SELECT pg_temp.check((SELECT count(*) FROM filler_holders) = :current,
    format('%s eligible licences outside the reserve, %s filler holders wanted',
           (SELECT count(*) FROM filler_holders), :current));

-- The positions, slot n for the n-th filler e-licence in order of issue: list k takes
-- LIST_FILL of them (the allocator moves on only when a list is that full), each list's
-- indexes a random sample of its free ones, in random order.
CREATE TEMP TABLE slots ON COMMIT DROP AS
SELECT row_number() OVER () AS n, list, idx FROM (
    SELECT k AS list, i AS idx
    FROM generate_series(0, ((:filler - 1) / :list_fill)::INTEGER) k
    CROSS JOIN LATERAL (
        SELECT i FROM generate_series(CASE WHEN k = 0 THEN 1 ELSE 0 END, :list_size - 1) i
        ORDER BY random() LIMIT least(:list_fill, :filler - k::BIGINT * :list_fill)
    ) drawn
) positions;
SELECT pg_temp.check((SELECT count(*) FROM slots) = :filler, 'slots');

-- Ids as service::random_id makes them ("el_" and 24 hex digits), from a hash: random to
-- the indexes, as real ids are. Superseded ones first (older serials), issued two years
-- ago; the current ones after, one every 30 s up to now; serials follow the order of issue.
INSERT INTO e_licences (id, licence_number, state, photo_source, photo_media_type, photo_sha256,
                        generated_at, superseded_at, superseded_reason, issued_via,
                        status_list, status_index, list_status, list_status_recheck_on)
SELECT 'el_' || substr(encode(sha256(('at-size superseded ' || h.n)::BYTEA), 'hex'), 1, 24),
       h.number, 'superseded', 'on_file', :'photo_media_type', :'photo_sha256',
       :'now_utc'::TIMESTAMP - INTERVAL '730 days' + h.n * INTERVAL '1 second',
       :'now_utc'::TIMESTAMP - (:current - h.n + 1) * INTERVAL '30 seconds',
       'class_changed', 'app', s.list, s.idx, 1, NULL
FROM filler_holders h JOIN slots s ON s.n = h.n
WHERE h.n <= :superseded
ORDER BY h.n;

INSERT INTO e_licences (id, licence_number, state, photo_source, photo_media_type, photo_sha256,
                        generated_at, issued_via,
                        status_list, status_index, list_status, list_status_recheck_on)
SELECT 'el_' || substr(encode(sha256(('at-size current ' || h.n)::BYTEA), 'hex'), 1, 24),
       h.number, 'current', 'on_file', :'photo_media_type', :'photo_sha256',
       :'now_utc'::TIMESTAMP - (:current - h.n + 1) * INTERVAL '30 seconds',
       'app', s.list, s.idx, 0,
       -- next_change_after for an eligible licence (valid_from is past): LEAST skips NULLs.
       LEAST(h.valid_until + 1, h.medical_due + 1, h.review_due + 1)
FROM filler_holders h JOIN slots s ON s.n = :superseded + h.n
ORDER BY h.n;

-- A holder token each (the app's), bound to the licence; its hash is of no secret. The id,
-- "tok_" and 24 hex digits as auth::create_bound_token makes it, is n scrambled by an odd
-- multiplier modulo 2^48 (unique, and random to the index), then n scrambled another way.
INSERT INTO api_tokens (id, token_hash, role, licence_number, created_at)
SELECT 'tok_' || lpad(to_hex((h.n * 25214903917) % 281474976710656), 12, '0')
              || lpad(to_hex((h.n * 1103515245 + 12345) % 281474976710656), 12, '0'),
       encode(sha256(('at-size holder token ' || h.n)::BYTEA), 'hex'),
       'holder', h.number, :'now_utc'::TIMESTAMP - (:current - h.n + 2) * INTERVAL '30 seconds'
FROM filler_holders h
ORDER BY h.n;

-- Each list's indexes given out, and its content changed since it was (never) signed.
INSERT INTO status_lists (list_id, allocated, content_version, changed_at)
SELECT list, count(*), 1, :'now_utc' FROM slots GROUP BY list
ON CONFLICT (list_id) DO UPDATE SET
    allocated = status_lists.allocated + EXCLUDED.allocated,
    content_version = status_lists.content_version + 1,
    changed_at = EXCLUDED.changed_at;

-- What the allocator and the signer will read must agree with the rows.
SELECT pg_temp.check(NOT EXISTS (
    SELECT 1 FROM status_lists sl
    LEFT JOIN (SELECT status_list, count(*) AS n FROM e_licences GROUP BY status_list) e
           ON e.status_list = sl.list_id
    WHERE sl.allocated <> coalesce(e.n, 0) OR sl.allocated > :list_fill
), 'status_lists.allocated differs from the e-licences in a list');
SELECT pg_temp.check(NOT EXISTS (
    SELECT 1 FROM e_licences WHERE status_list = 0 AND status_index = 0
), 'index 0 of list 0 given');

COMMIT;
