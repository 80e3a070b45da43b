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
routes="$measured_routes"

# backend NAME: the whole sequence on the database at $url (measure_routes: load-common.sh).
backend() {
    load_registry "$licences" --with-photo
    holder_tokens "$licences"
    start_server --code-ttl-secs 86400
    machine_line
    measure_routes "$1"
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
