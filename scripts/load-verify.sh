#!/usr/bin/env bash
# HTTP load on POST /api/v1/verify, the roadside scan: a release server on a fresh SQLite file,
# E holders (default 2,000) with an e-licence each, wrk posting their QR codes as one officer
# terminal. Every scan is audited (group commit); the script compares the audit's row count
# with the requests wrk counted. Prints requests/s and p50…p99.9.
#
# AUDIT_SYNC says how the verifier's audit commits reach the disk (serve --sqlite-audit-sync):
# `full` (the default: no audit row of an answered scan is lost in a power cut), `normal`
# (synced at checkpoints only), or `both`: one run of each, on the same data, one after the
# other, with both figures side by side at the end: what durability costs.
# Usage: [AUDIT_SYNC=full|normal|both] scripts/load-verify.sh [DURATION_SECONDS] [CONNECTIONS] [E_LICENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-64}"
holders="${3:-2000}"
case "${AUDIT_SYNC:-full}" in
    full | normal) modes="${AUDIT_SYNC:-full}" ;;
    both) modes="full normal" ;;
    *) echo "AUDIT_SYNC must be full, normal or both" >&2; exit 2 ;;
esac
source scripts/lib/load-common.sh

load_registry "$holders" --with-photo
holder_tokens "$holders"
officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label load-terminal 2>/dev/null)
audit_rows() {
    python3 -c "import sqlite3; print(sqlite3.connect('$work/load.db').execute('select count(*) from verification_audit').fetchone()[0])"
}

summary=""
for mode in $modes; do
    # Codes that outlive the run, so none expires under load.
    start_server --code-ttl-secs 86400 --sqlite-audit-sync "$mode"
    if [ ! -s "$work/codes.txt" ]; then
        python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port" "$work/tokens.txt" "$work/codes.txt"
        cat > "$work/load.lua" <<LUA
$WRK_LATENCY_LUA
$(rotating_items_lua "$work/codes.txt")
request = function()
    local c = next_item()
    return wrk.format("POST", "/api/v1/verify", {
        ["Authorization"] = "Bearer $officer", ["Content-Type"] = "application/json",
    }, '{"code":"' .. c .. '"}')
end
done = function(summary, latency, requests)
    report_latency(summary, latency)
end
LUA
    fi
    echo "== audit commits synchronous=$mode"
    # Two seconds not counted, so that neither run pays for a cold cache.
    wrk -t 2 -c "$connections" -d 2s -s "$work/load.lua" "http://127.0.0.1:$port" >/dev/null
    machine_line
    audited_before=$(audit_rows)
    wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port" | tee "$work/wrk-$mode.txt"
    stop_server
    audited=$(audit_rows)
    echo "audit rows written during the run: $((audited - audited_before)) (wrk counted $(grep '^requests:' "$work/wrk-$mode.txt" | cut -d' ' -f2) completed requests)"
    summary="$summary$(printf '%-8s %s   p50 %s   p99 %s' "$mode" \
        "$(grep '^Requests/sec' "$work/wrk-$mode.txt" | awk '{print $2 " req/s"}')" \
        "$(grep '^p50 latency' "$work/wrk-$mode.txt" | cut -d' ' -f3-)" \
        "$(grep '^p99 latency' "$work/wrk-$mode.txt" | cut -d' ' -f3-)")
"
done
echo "== synchronous of the verifier's audit commits"
printf '%s' "$summary"
