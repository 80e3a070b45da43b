#!/usr/bin/env bash
# Registry event throughput, two ways, on a release server over a fresh SQLite file of N
# licences (default 20,000) with a photo on file each, every eligible one holding a current
# e-licence:
#  1. HTTP: wrk sends POST /api/v1/admin/licences/{n}/events, walking the licences; each visit
#     to a licence sends the next event of a cycle (status set, points, status cleared,
#     points), and one licence in ten gets a class change on its first visit (a supersede).
#     Prints events/s (200 answers), how many changed something and superseded, and p50…p99.9.
#  2. Bulk: `elicence import` of M event lines (default 200,000) in the same mix, after the
#     server stopped. Prints event lines/s and events recorded/s.
# Usage: scripts/load-events.sh [DURATION_SECONDS] [CONNECTIONS] [LICENCES] [EVENT_LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-32}"
licences="${3:-20000}"
event_lines="${4:-200000}"
source scripts/lib/load-common.sh

load_registry "$licences" --with-photo
holder_tokens "$licences"
start_server
python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port" "$work/tokens.txt" "$work/codes.txt"
admin=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role admin 2>/dev/null)

events_lua "$work/numbers.txt" "$admin" > "$work/load.lua"
machine_line
echo "== HTTP: POST /api/v1/admin/licences/{n}/events, $connections connections, ${duration}s, $licences licences"
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port"
kill "$server"; wait "$server" 2>/dev/null || true; server=

# The same mix as import event lines: visit v of licence v mod N, on pass v div N.
python3 - "$work/numbers.txt" "$event_lines" > "$work/events.ndjson" <<'PY'
import json, sys
numbers = [l.strip() for l in open(sys.argv[1]) if l.strip()]
cycle = [{"type": "points_changed", "points": 5}, {"type": "status_set", "status": "locked"},
         {"type": "points_changed", "points": 1}, {"type": "status_cleared", "status": "locked"}]
for v in range(int(sys.argv[2])):
    i, p = v % len(numbers), v // len(numbers)
    event = {"type": "renewed", "valid_until": "2099-12-31"} if p == 0 and i % 10 == 5 else cycle[p % 4]
    print(json.dumps({"number": numbers[i], "event": event}))
PY
echo "== bulk: elicence import of $event_lines event lines over $licences licences"
RUST_LOG=warn "$bin" --database-url "$url" import "$work/events.ndjson"
