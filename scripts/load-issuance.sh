#!/usr/bin/env bash
# HTTP load on POST /api/v1/me/e-licence with the photo on file: a release server on a fresh
# SQLite file of N licences with a 330×480 JPEG photo on file each (default 60,000), wrk
# applying once for each holder in turn (every request a new e-licence until the tokens run
# out). Prints e-licences created per second (201 answers) and p50…p99.9.
# Usage: scripts/load-issuance.sh [DURATION_SECONDS] [CONNECTIONS] [LICENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15}"
connections="${2:-64}"
licences="${3:-60000}"
source scripts/lib/load-common.sh

load_registry "$licences" --with-photo
holder_tokens "$licences"
start_server

issuance_lua "$work/tokens.txt" > "$work/load.lua"
machine_line
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port"
