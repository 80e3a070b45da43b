#!/usr/bin/env bash
# HTTP load on POST /api/v1/verify, the roadside scan: a release server on a fresh SQLite file,
# E holders (default 2,000) with an e-licence each, wrk posting their QR codes as one officer
# terminal. Every scan is audited (group commit); the script compares the audit's row count
# with the requests wrk counted. Prints requests/s and p50…p99.9.
# Usage: scripts/load-verify.sh [DURATION_SECONDS] [CONNECTIONS] [E_LICENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-64}"
holders="${3:-2000}"
source scripts/lib/load-common.sh

load_registry "$holders" --with-photo
holder_tokens "$holders"
# Codes that outlive the run, so none expires under load.
start_server --code-ttl-secs 86400
python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port" "$work/tokens.txt" "$work/codes.txt"
officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label load-terminal 2>/dev/null)

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
machine_line
audited_before=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/load.db').execute('select count(*) from verification_audit').fetchone()[0])")
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port" | tee "$work/wrk.txt"
sleep 1
audited=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/load.db').execute('select count(*) from verification_audit').fetchone()[0])")
echo "audit rows written during the run: $((audited - audited_before)) (wrk counted $(grep '^requests:' "$work/wrk.txt" | cut -d' ' -f2) completed requests)"
