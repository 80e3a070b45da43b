#!/usr/bin/env bash
# HTTP load on POST /api/v1/verify, the roadside scan: a release server on a fresh database,
# E holders (default 2,000) with an e-licence each, wrk posting their QR codes as one officer
# terminal. Every scan is audited (group commit); the script compares the audit's row count
# with the requests wrk counted. Then, on the same server in the same run, wrk on /healthz
# (HEALTHZ_SECONDS, default 10): what this machine serves when a request does nothing. Prints
# verify requests/s, p50, p99, p99.9 and its ratio to /healthz (machines differ, the ratio
# travels), and for SQLite the largest size its log (the -wal file) reached under load.
#
# SQLite always (a fresh file). With DATABASE_URL=postgres://… also PostgreSQL, in the same
# run, both in the summary. That database must be empty (a throwaway one: the script fills it
# with generated licences and tokens, e.g. `createdb elicence_load`).
#
# AUDIT_SYNC says how the verifier's audit commits reach the disk on SQLite
# (serve --sqlite-audit-sync): `full` (the default: no audit row of an answered scan is lost
# in a power cut), `normal` (synced at checkpoints only), or `both`: one run of each, on the
# same data, one after the other: what durability costs.
# Usage: [AUDIT_SYNC=full|normal|both] [DATABASE_URL=postgres://…] scripts/load-verify.sh [DURATION_SECONDS] [CONNECTIONS] [E_LICENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-64}"
holders="${3:-2000}"
healthz_seconds="${HEALTHZ_SECONDS:-10}"
case "${AUDIT_SYNC:-full}" in
    full | normal) modes="${AUDIT_SYNC:-full}" ;;
    both) modes="full normal" ;;
    *) echo "AUDIT_SYNC must be full, normal or both" >&2; exit 2 ;;
esac
source scripts/lib/load-common.sh
pg_url="$(postgres_url_from_env)"
sqlite_url="$url"

healthz_lua > "$work/healthz.lua"

audit_rows() {
    case "$url" in
        sqlite:*) python3 -c "import sqlite3; print(sqlite3.connect('${url#sqlite://}').execute('select count(*) from verification_audit').fetchone()[0])" ;;
        *) psql -qtA "$url" -c 'select count(*) from verification_audit' ;;
    esac
}

# Samples the size of the SQLite log every 100 ms into $work/wal-sizes until killed.
watch_log() {
    while :; do stat -c %s "${url#sqlite://}-wal" 2>/dev/null || echo 0; sleep 0.1; done > "$work/wal-sizes"
}

# run NAME [serve flags…]: one measured run on the server it starts; appends to $summary.
summary=""
run() {
    local name="$1"; shift
    local codes="$work/codes-${url%%:*}.txt" lua="$work/verify-${url%%:*}.lua"
    # Codes that outlive the run, so none expires under load.
    start_server --code-ttl-secs 86400 "$@"
    if [ ! -s "$codes" ]; then
        python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port" "$work/tokens.txt" "$codes"
        verify_lua "$codes" "$officer" > "$lua"
    fi
    echo "== $name"
    # Two seconds not counted, so that no run pays for a cold cache.
    wrk -t 2 -c "$connections" -d 2s -s "$lua" "http://127.0.0.1:$port" >/dev/null
    machine_line
    local audited_before watcher=""
    audited_before=$(audit_rows)
    case "$url" in sqlite:*) watch_log & watcher=$! ;; esac
    wrk -t 2 -c "$connections" -d "${duration}s" -s "$lua" "http://127.0.0.1:$port" | tee "$work/wrk-$name.txt"
    [ -n "$watcher" ] && kill "$watcher" && wait "$watcher" 2>/dev/null || true
    echo "-- /healthz on the same server"
    wrk -t 2 -c "$connections" -d "${healthz_seconds}s" -s "$work/healthz.lua" "http://127.0.0.1:$port/healthz" | tee "$work/healthz-$name.txt"
    stop_server
    local audited
    audited=$(audit_rows)
    echo "audit rows written during the run: $((audited - audited_before)) (wrk counted $(grep '^requests:' "$work/wrk-$name.txt" | cut -d' ' -f2) completed requests)"
    local rps healthz log=""
    rps=$(grep '^Requests/sec' "$work/wrk-$name.txt" | awk '{print $2}')
    healthz=$(grep '^Requests/sec' "$work/healthz-$name.txt" | awk '{print $2}')
    [ -n "$watcher" ] && log="   log max $(sort -n "$work/wal-sizes" | tail -n1 | awk '{printf "%.0f MB", $1 / 1e6}')"
    summary="$summary$(printf '%-18s %8.0f req/s   p50 %s   p99 %s   p99.9 %s   /healthz %.0f req/s   ratio %.1f %%%s' \
        "$name" "$rps" \
        "$(grep '^p50 latency' "$work/wrk-$name.txt" | cut -d' ' -f3-)" \
        "$(grep '^p99 latency' "$work/wrk-$name.txt" | cut -d' ' -f3-)" \
        "$(grep '^p99.9 latency' "$work/wrk-$name.txt" | cut -d' ' -f3-)" \
        "$healthz" "$(echo "$rps $healthz" | awk '{print 100 * $1 / $2}')" "$log")
"
}

# setup_backend: the generated registry, holder tokens and the officer's token in $url.
setup_backend() {
    load_registry "$holders" --with-photo
    holder_tokens "$holders"
    officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label load-terminal 2>/dev/null)
}

setup_backend
for mode in $modes; do
    run "sqlite-sync-$mode" --sqlite-audit-sync "$mode"
done
if [ -n "$pg_url" ]; then
    url="$pg_url"
    setup_backend
    run postgresql
    url="$sqlite_url"
fi
echo "== POST /api/v1/verify, $connections connections, ${duration} s ($(nproc) cores; ratio: verify req/s to /healthz req/s)"
printf '%s' "$summary"
