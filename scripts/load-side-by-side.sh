#!/usr/bin/env bash
# The four hot routes on SQLite and PostgreSQL in one run, side by side (issue 12, point 4):
# a release server on each backend with N generated licences (default 20,000, a photo on
# file each), then, D seconds each (default 10), wrk on
#   issuance   POST /api/v1/me/e-licence, photo on file, every holder applying once;
#   eligibility GET /api/v1/me/eligibility;
#   verify     POST /api/v1/verify, one officer terminal, every scan audited;
#   events     POST /api/v1/admin/licences/{n}/events (status, points, 1 in 10 a class change);
#   /healthz   the reference: what the machine serves when a request does nothing.
# Prints req/s and p99 for each route and backend, and PostgreSQL's throughput as a share of
# SQLite's. DATABASE_URL=postgres://… names an empty, throwaway database (it is filled with
# generated licences and tokens: `createdb elicence_load`); without it only SQLite runs.
# Usage: DATABASE_URL=postgres://… scripts/load-side-by-side.sh [SECONDS] [CONNECTIONS] [LICENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
licences="${3:-20000}"
source scripts/lib/load-common.sh
pg_url="$(postgres_url_from_env)"
sqlite_url="$url"
routes="issuance eligibility verify events healthz"

# measure BACKEND ROUTE LUA [PATH]: one wrk run; req/s and p99 into $work/result-BACKEND-ROUTE.
measure() {
    local out="$work/wrk-$1-$2.txt"
    wrk -t 2 -c "$connections" -d "${duration}s" --timeout 10s -s "$3" "http://127.0.0.1:$port${4:-}" > "$out"
    echo "-- $1 $2"; grep -E '^(Requests/sec|non-2xx|p50|p99 |created|events applied)' "$out" || true
    # Issuance counts e-licences created (201s), not answers: a holder who has one already
    # gets a cheaper 200.
    local rps
    rps=$(awk '/^e-licences created per second/ {print $5}' "$out")
    [ -n "$rps" ] || rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
    printf '%s %s\n' "$rps" "$(awk '/^p99 latency/ {print $3 " ms"}' "$out")" > "$work/result-$1-$2"
}

# backend NAME: the whole sequence on the database at $url.
backend() {
    local name="$1"
    load_registry "$licences" --with-photo
    holder_tokens "$licences"
    local officer admin
    officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label load 2>/dev/null)
    admin=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role admin 2>/dev/null)
    start_server --code-ttl-secs 86400
    machine_line
    issuance_lua "$work/tokens.txt" > "$work/issuance.lua"
    measure "$name" issuance "$work/issuance.lua"
    # Codes for verify: the first 2,000 holders' (issued now if the run above did not reach them).
    head -n 2000 "$work/tokens.txt" > "$work/verify-tokens.txt"
    python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port" "$work/verify-tokens.txt" "$work/codes.txt"
    eligibility_lua "$work/tokens.txt" > "$work/eligibility.lua"
    measure "$name" eligibility "$work/eligibility.lua"
    verify_lua "$work/codes.txt" "$officer" > "$work/verify.lua"
    measure "$name" verify "$work/verify.lua"
    events_lua "$work/numbers.txt" "$admin" > "$work/events.lua"
    measure "$name" events "$work/events.lua"
    healthz_lua > "$work/healthz.lua"
    measure "$name" healthz "$work/healthz.lua" /healthz
    stop_server
}

backend sqlite
if [ -n "$pg_url" ]; then
    url="$pg_url"
    backend postgresql
    url="$sqlite_url"
fi

echo "== $licences licences, $connections connections, ${duration} s a route; $(machine_line)"
printf '%-12s %22s %22s %10s\n' route "SQLite req/s, p99" "PostgreSQL req/s, p99" "PG/SQLite"
for route in $routes; do
    read -r s_rps s_p99 < "$work/result-sqlite-$route"
    if [ -n "$pg_url" ]; then
        read -r p_rps p_p99 < "$work/result-postgresql-$route"
        printf '%-12s %11.0f %10s %11.0f %10s %9.0f%%\n' "$route" "$s_rps" "$s_p99" "$p_rps" "$p_p99" \
            "$(echo "$p_rps $s_rps" | awk '{print 100 * $1 / $2}')"
    else
        printf '%-12s %11.0f %10s %22s\n' "$route" "$s_rps" "$s_p99" "(no DATABASE_URL)"
    fi
done
