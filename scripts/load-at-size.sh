#!/usr/bin/env bash
# The hot routes measured at size (issue 12, point 4): PostgreSQL with LICENCES generated
# licences (default 10,000,000) and E_LICENCES e-licences (default 1,000,000), and in the same
# run a small database of 10,000 licences with e-licences in the same proportion; wrk on the
# routes of load-side-by-side.sh (issuance, eligibility, verify, events, /healthz as the
# reference) on each, D seconds a route (default 10). Prints req/s, p99 and the cost per
# request: the CPU time of the server and of PostgreSQL (but the backends of other databases)
# over the run, divided by
# the requests served (issuance: by the e-licences created), and that cost at size as a share
# of the cost at 10 k (the goal: within 20 %, every hot query by index). Then the database's
# size, each main table's and its indexes' (per million rows), and the tables PostgreSQL read
# by sequential scan during the measurements.
#
# Which rows are real and which are filler (docs/at-size.md):
# * the licences are all real: `elicence gen-registry | elicence import - --jobs 2` (COPY);
# * the e-licences the load reads and writes are real, issued over HTTP by the server
#   measured: the holders are the first licences of the generated registry (the reserve),
#   imported a second time with a photo on file;
# * the other E_LICENCES e-licences (and a holder token each) are filler, made in one
#   transaction by scripts/lib/at_size_fill.sql: set-based SQL that keeps every rule the
#   schema and the code rely on (one current e-licence per licence, on eligible licences
#   outside the reserve; positions drawn as the allocator draws them, lists filled to 75 % in
#   order, status_lists.allocated equal to the rows; entries VALID with their recheck day, 1 %
#   superseded and INVALID; the photo in photo_store). No measured request reads a filler row:
#   they give the tables and indexes the hot queries probe their size and depth at that many
#   e-licences, the planner its statistics at that size, and the status lists their fill, so
#   the allocator of the new e-licences and the list signer work as they would.
#
# DATABASE_URL=postgres://… names an empty, throwaway database for the large set
# (`createdb elicence_size`); AT_SIZE_SMALL_URL another for the small one (default: the same
# URL with "_small" after the database's name), emptied (schema public dropped) and filled
# again on every run. The fill of the large one takes long (tens of minutes at 10 M on a 2-core
# machine): AT_SIZE_REUSE=1 keeps what a database holds, so a run after a complete fill starts
# measuring at once, and one after an interrupted fill resumes it (the import is an upsert by
# number, the filler one transaction: each step is skipped when done). Its signing key stays
# in AT_SIZE_KEYS_DIR (default /var/tmp/elicence-at-size-keys/DBNAME) for the next run.
# Each run issues to holders of the reserve that have no e-licence yet (AT_SIZE_HOLDERS,
# default 8,000; the reserve is the first 100,000 licences, fewer in a small database).
#
# Usage: DATABASE_URL=postgres://…/elicence_size [AT_SIZE_REUSE=1] \
#            scripts/load-at-size.sh [SECONDS] [CONNECTIONS] [LICENCES] [E_LICENCES]
# The binary: ELICENCE_BIN=path (else a release build, as every load script).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
large="${3:-10000000}"
large_e="${4:-1000000}"
small="${AT_SIZE_SMALL:-10000}"
# The small database has the large one's e-licences per licence.
small_e=$((large_e * small / large))
holders="${AT_SIZE_HOLDERS:-8000}"
superseded_pct="${AT_SIZE_SUPERSEDED_PCT:-1}"
reuse="${AT_SIZE_REUSE:-0}"
source scripts/lib/load-common.sh
command -v psql >/dev/null || { echo "psql is not installed (apt-get install postgresql-client)" >&2; exit 1; }
large_url="$(postgres_url_from_env)"
[ -n "$large_url" ] || { echo "DATABASE_URL=postgres://… must name the database to fill" >&2; exit 2; }
# postgres://host/name?query → postgres://host/name_small?query
small_url="${AT_SIZE_SMALL_URL:-$(echo "$large_url" | sed -E 's|^([^?]*/[^/?]+)(\?.*)?$|\1_small\2|')}"
[ "$small_url" != "$large_url" ] || { echo "AT_SIZE_SMALL_URL must name another database" >&2; exit 2; }
[ "$small" -le "$large" ] || { echo "LICENCES must be at least $small" >&2; exit 2; }

# sql URL ARGS…: psql on URL, quiet, unaligned, stopping at the first error.
sql() { local u="$1"; shift; psql "$u" -qAtX -v ON_ERROR_STOP=1 "$@"; }

# label N: 10000 → 10k, 10000000 → 10M.
label() { awk -v n="$1" 'BEGIN { if (n >= 1e6) printf "%gM", n / 1e6; else if (n >= 1e3) printf "%gk", n / 1e3; else print n }'; }

# timed WHAT ROWS COMMAND…: runs COMMAND, prints how long it took and ROWS a second.
timed() {
    local what="$1" rows="$2" t0 t1
    shift 2
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    awk -v w="$what" -v r="$rows" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%s: %d rows in %.1f s, %.0f rows/s\n", w, r, b - a, r / (b - a) }' | tee -a "$work/fill-times.txt"
}

# import_generated URL COUNT [gen-registry flags…]: the first COUNT generated licences (seed 7,
# as load_registry), imported with COPY by two writers, streamed: no file of 4 GB at 10 M.
import_generated() {
    local u="$1" count="$2"
    shift 2
    "$bin" gen-registry --count "$count" --seed 7 "$@" | RUST_LOG=warn "$bin" --database-url "$u" import - --jobs 2 >/dev/null
}

# fill URL NAME LICENCES E_LICENCES: the database at URL holding LICENCES licences and
# E_LICENCES filler e-licences (each step skipped when already done and AT_SIZE_REUSE=1),
# the reserve holders without an e-licence imported again with a photo on file, their numbers
# in $work/numbers.txt and their tokens in $work/tokens.txt (as holder_tokens leaves them).
fill() {
    local u="$1" name="$2" count="$3" e_count="$4" have filled=0
    RUST_LOG=warn "$bin" --database-url "$u" migrate >/dev/null
    have=$(sql "$u" -c "SELECT count(*) FROM licences")
    if [ "$have" -gt 0 ] && [ "$reuse" != 1 ]; then
        echo "$name: the database holds $have licences; empty it, or AT_SIZE_REUSE=1 to use them" >&2; exit 2
    fi
    if [ "$have" -lt "$count" ]; then
        # An upsert by number: a fill interrupted here starts again from the first line.
        timed "$name: import of $count generated licences (COPY, 2 writers)" "$count" import_generated "$u" "$count"
        filled=1
    fi
    # The reserve: the first licences of the generated registry, never given a filler
    # e-licence; the load's holders are those of them no run has used yet (no e-licence, no
    # token: a holder that may not drive keeps neither, and is not taken twice). At most
    # 100,000, and enough left outside it for the filler (a licence in 14 may not drive).
    local reserve=$((count - e_count * 5 / 4))
    [ "$reserve" -le 100000 ] || reserve=100000
    "$bin" gen-registry --count "$reserve" --seed 7 | sed -E 's/^\{"number":"([^"]+)".*/\1/' > "$work/reserve.txt"
    grep -qvE '^[0-9A-Z]+$' "$work/reserve.txt" && { echo "gen-registry lines do not start with the number" >&2; exit 1; }
    sql "$u" > "$work/fresh.txt" <<SQL
CREATE TEMP TABLE reserve (pos BIGSERIAL, number TEXT);
\copy reserve (number) FROM '$work/reserve.txt'
SELECT r.pos, r.number, l.photo_prepared IS NULL FROM reserve r JOIN licences l USING (number)
WHERE NOT EXISTS (SELECT 1 FROM e_licences e WHERE e.licence_number = r.number)
  AND NOT EXISTS (SELECT 1 FROM api_tokens t WHERE t.licence_number = r.number)
ORDER BY r.pos LIMIT $holders;
SQL
    cut -d'|' -f2 "$work/fresh.txt" > "$work/numbers.txt"
    local fresh last
    fresh=$(wc -l < "$work/numbers.txt")
    [ "$fresh" -gt 0 ] || { echo "$name: every reserve holder has an e-licence: refill, or raise AT_SIZE_HOLDERS" >&2; exit 2; }
    [ "$fresh" -ge "$holders" ] || echo "$name: only $fresh reserve holders without an e-licence left" >&2
    # Their records again with a photo on file, where a run before has not done it (a later
    # line of a number updates it; the import prepares the photo, the slow part): the
    # generator's records do not depend on --count or the photo, so the first LAST records
    # with a photo hold them.
    awk -F'|' '$3 == "t" { print "{\"number\":\"" $2 "\"," }' "$work/fresh.txt" > "$work/fresh-patterns.txt"
    local unphotographed
    unphotographed=$(wc -l < "$work/fresh-patterns.txt")
    if [ "$unphotographed" -gt 0 ]; then
        last=$(awk -F'|' '$3 == "t" { last = $1 } END { print last }' "$work/fresh.txt")
        timed "$name: import of $unphotographed holders' records with a photo on file" "$unphotographed" \
            bash -c '"$1" gen-registry --count "$2" --seed 7 --with-photo | { grep -F -f "$3" || true; } |
                RUST_LOG=warn "$1" --database-url "$4" import - --jobs 2 >/dev/null' _ "$bin" "$last" "$work/fresh-patterns.txt" "$u"
    fi
    if [ "$(sql "$u" -c "SELECT count(*) FROM e_licences")" = 0 ]; then
        timed "$name: $e_count filler e-licences and holder tokens (scripts/lib/at_size_fill.sql)" "$e_count" \
            sql "$u" -v filler="$e_count" -v superseded_pct="$superseded_pct" \
            -f scripts/lib/at_size_fill.sql < "$work/reserve.txt" >/dev/null
        filled=1
    elif [ "$reuse" = 1 ]; then
        echo "$name: e-licences present, filler skipped (AT_SIZE_REUSE=1)"
    fi
    if [ "$filled" = 1 ]; then
        # What a database in service would be: visibility map set (index-only scans),
        # statistics taken, the fill's dirty pages written, so that neither autovacuum nor a
        # checkpoint of the fill runs during the measurements.
        timed "$name: VACUUM (ANALYZE)" "$count" sql "$u" -c "VACUUM (ANALYZE)"
        sql "$u" -c "CHECKPOINT" 2>/dev/null || echo "(CHECKPOINT needs a superuser: skipped)"
    fi
    url="$u"
    holder_tokens_of "$work/numbers.txt"
}

# keys_for NAME DIR: the signing keys of NAME's database are in DIR (start_server uses
# $work/keys, generating the first key there if the database has none active).
keys_for() {
    mkdir -p -m 700 "$2"
    rm -rf "$work/keys"
    ln -s "$2" "$work/keys"
}

# scans URL: every table's sequential and index scans so far, "table seq_scan seq_tup_read
# idx_scan", in the order join wants. A backend reports its counts at most once a second and
# when it ends: taken after the server's connections are closed.
scans() {
    sql "$1" -F' ' -c "SELECT relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0)
                       FROM pg_stat_user_tables ORDER BY relname COLLATE \"C\""
}

# run NAME URL: serve NAME's database (filled) and measure every route on it.
run() {
    local name="$1" u="$2"
    url="$u"
    start_server --code-ttl-secs 86400
    # The first maintenance pass signs every list (the filler's lists are unsigned): measured
    # after it, not with it.
    for _ in $(seq 1 600); do
        [ "$(sql "$u" -c "SELECT count(*) FROM status_lists WHERE signed_version < content_version")" = 0 ] && break
        sleep 0.2
    done
    machine_line
    scans "$u" > "$work/scans-before-$name"
    measure_routes "$name"
    stop_server
    sleep 1
    scans "$u" > "$work/scans-after-$name"
}

# sizes NAME URL: the database's size, and each main table's rows, heap, TOAST and indexes.
sizes() {
    local name="$1" u="$2"
    echo "-- $name: database $(sql "$u" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
    printf '%-20s %12s %10s %10s %10s %10s %18s\n' table rows "heap MB" "TOAST MB" "index MB" "total MB" "heap+index MB/M rows"
    local t
    for t in licences e_licences api_tokens verification_audit registry_events; do
        sql "$u" -F' ' -c "SELECT count(*), pg_relation_size('$t'), pg_table_size('$t') - pg_relation_size('$t'),
                                  pg_indexes_size('$t'), pg_total_relation_size('$t') FROM $t" |
            awk -v t="$t" '{ m = 1048576; printf "%-20s %12d %10.1f %10.1f %10.1f %10.1f %18s\n", t, $1, $2 / m, $3 / m, $4 / m, $5 / m,
                ($1 > 0 ? sprintf("%.1f", ($2 + $4) / m / ($1 / 1e6)) : "-") }'
    done
}

# seq_scans NAME: the tables read by sequential scan during NAME's measurements.
seq_scans() {
    LC_ALL=C join "$work/scans-before-$1" "$work/scans-after-$1" |
        awk -v n="$1" '$5 > $2 { printf "   %s: %s +%d sequential scans (+%d rows read), +%d index scans\n", n, $1, $5 - $2, $6 - $3, $7 - $4; any = 1 }
            END { if (!any) printf "   %s: none\n", n }'
}

echo "df: $(df -h --output=avail "${TMPDIR:-/tmp}" | tail -n 1 | xargs) free for the work files"
L=$(label "$large"); S=$(label "$small")
sql "$small_url" -c "SELECT 1" >/dev/null ||
    { echo "no database at AT_SIZE_SMALL_URL=$small_url: createdb ${small_url##*/}, or name another" >&2; exit 2; }
# The small database is rebuilt every run: it takes seconds.
sql "$small_url" -c "DROP SCHEMA public CASCADE" -c "CREATE SCHEMA public"
fill "$small_url" small "$small" "$small_e"
cp "$work/numbers.txt" "$work/numbers-small.txt"; cp "$work/tokens.txt" "$work/tokens-small.txt"
fill "$large_url" large "$large" "$large_e"
cp "$work/numbers.txt" "$work/numbers-large.txt"; cp "$work/tokens.txt" "$work/tokens-large.txt"

# Small first, then large, each on its own server (the same flags); AT_SIZE_LARGE_FIRST=1
# the other way round, to see what the order does (the first run follows the fills, the second
# the first run's writes).
run_small() {
    cp "$work/numbers-small.txt" "$work/numbers.txt"; cp "$work/tokens-small.txt" "$work/tokens.txt"
    keys_for small "$work/keys-small"
    run small "$small_url"
}
run_large() {
    cp "$work/numbers-large.txt" "$work/numbers.txt"; cp "$work/tokens-large.txt" "$work/tokens.txt"
    local large_db="${large_url##*/}"; large_db="${large_db%%\?*}"
    keys_for large "${AT_SIZE_KEYS_DIR:-/var/tmp/elicence-at-size-keys}/$large_db"
    run large "$large_url"
}
if [ "${AT_SIZE_LARGE_FIRST:-0}" = 1 ]; then run_large; run_small; else run_small; run_large; fi

echo
echo "== at size: $L licences, $(label "$large_e") filler e-licences; against $S licences, $small_e filler e-licences"
echo "   $connections connections, ${duration} s a route, $holders holders; $(machine_line)"
[ -s "$work/fill-times.txt" ] && sed 's/^/   fill: /' "$work/fill-times.txt"
echo "   cost = CPU ms (the server + PostgreSQL but other databases' backends) a request served (issuance: an e-licence created)"
printf '%-12s %20s %20s %10s %10s %9s\n' route "$S req/s, p99" "$L req/s, p99" "cost $S" "cost $L" "$L/$S"
for route in $measured_routes; do
    read -r s_rps s_p99 < "$work/result-small-$route"
    read -r l_rps l_p99 < "$work/result-large-$route"
    read -r s_cost _ < "$work/cpu-small-$route"
    read -r l_cost _ < "$work/cpu-large-$route"
    printf '%-12s %9.0f %10s %9.0f %10s %10.3f %10.3f %8.0f%%\n' "$route" "$s_rps" "$s_p99" "$l_rps" "$l_p99" \
        "$s_cost" "$l_cost" "$(echo "$l_cost $s_cost" | awk '{print ($2 > 0 ? 100 * $1 / $2 : 0)}')"
done
# Issuance counts e-licences created: when the holders run out, the rest are cheap 200s and
# both its req/s and its cost say less. About 7 % of generated holders may not drive (422).
for name in small large; do
    awk -v n="$name" '/^created \(201\)/ { sub(",", "", $3); sub(",", "", $6)
        if ($6 + 0 > 0.12 * ($3 + $6)) printf "   %s: issuance ran out of holders (%d created, %d other answers): raise AT_SIZE_HOLDERS\n", n, $3, $6 }' \
        "$work/wrk-$name-issuance.txt"
done
echo
sizes small "$small_url"
sizes large "$large_url"
echo "-- tables read by sequential scan during the measurements (status_lists and signing_keys are a few rows: expected)"
seq_scans small
seq_scans large
