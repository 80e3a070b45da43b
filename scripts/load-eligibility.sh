#!/usr/bin/env bash
# HTTP load on GET /api/v1/me/eligibility, the hottest holder read: a release server on a
# fresh SQLite file holding N licences (default 100,000), wrk with a different holder token
# per connection. Prints requests/s and the latency distribution (p50…p99).
# Usage: scripts/load-eligibility.sh [DURATION_SECONDS] [CONNECTIONS] [LICENCES]
# Extra serve flags: ELICENCE_SERVE_ARGS="--blocking-threads 2".
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-64}"
licences="${3:-100000}"
source scripts/lib/load-common.sh

load_registry "$licences"
holder_tokens 256
start_server

eligibility_lua "$work/tokens.txt" > "$work/load.lua"
curl -fs -H "Authorization: Bearer $(head -n1 "$work/tokens.txt")" "http://127.0.0.1:$port/api/v1/me/eligibility" >/dev/null
machine_line
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port"
