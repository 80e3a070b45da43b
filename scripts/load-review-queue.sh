#!/usr/bin/env bash
# GET /api/v1/review/queue with N pending photos (default 100,000): the reviewers' hottest
# read. The submissions are written straight into the SQLite file (one stored photo shared by
# all, deadlines spread over a week) so the set-up takes seconds; the licences they belong
# to are imported as usual. wrk reads the first page and pages deep in the queue (a random
# cursor each time). Prints requests/s and p50…p99.9.
# Usage: scripts/load-review-queue.sh [DURATION_SECONDS] [CONNECTIONS] [PENDING]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-16}"
pending="${3:-100000}"
source scripts/lib/load-common.sh

load_registry "$pending"
start_server
python3 - "$work/load.db" "$work/registry.ndjson" "$work/cursors.txt" <<'PY'
import json, sqlite3, sys, random, datetime
db, registry, cursors = sys.argv[1:4]
numbers = [json.loads(l)["number"] for l in open(registry)]
con = sqlite3.connect(db)
con.execute("PRAGMA busy_timeout = 10000")
now = datetime.datetime(2026, 11, 25, 2, 0, 0)
con.execute("INSERT OR IGNORE INTO photo_store VALUES ('load-photo', 'image/jpeg', x'ffd8ffd9', ?)", (now,))
rows, keys = [], []
random.seed(7)
for i, n in enumerate(numbers):
    submitted = now + datetime.timedelta(seconds=random.randrange(7 * 86400))
    deadline = submitted + datetime.timedelta(days=1)
    sid = f"ps_load{i:08d}"
    rows.append((sid, n, "first_application", "camera", "pending_review", "load-photo", "[]",
                 submitted.isoformat(sep=" "), deadline.isoformat(sep=" ")))
    keys.append((deadline, sid))
con.executemany("INSERT INTO photo_submissions (id, licence_number, purpose, source, state, "
                "photo_sha256, prechecks, submitted_at, deadline) VALUES (?,?,?,?,?,?,?,?,?)", rows)
con.commit()
with open(cursors, "w") as out:
    for deadline, sid in random.sample(keys, 1000):
        micros = int(deadline.replace(tzinfo=datetime.timezone.utc).timestamp() * 1_000_000)
        out.write(f"{micros}~{sid}\n")
print(f"{len(rows)} pending submissions", file=sys.stderr)
PY
reviewer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role reviewer --label load 2>/dev/null)
cat > "$work/load.lua" <<LUA
$WRK_LATENCY_LUA
$(rotating_items_lua "$work/cursors.txt")
request = function()
    -- Half the reads are the first page, half a page deep in the queue.
    local path = "/api/v1/review/queue?limit=50"
    if n % 2 == 1 then path = path .. "&after=" .. next_item() else n = n + 1 end
    return wrk.format("GET", path, { ["Authorization"] = "Bearer $reviewer" })
end
done = function(summary, latency, requests) report_latency(summary, latency) end
LUA
curl -fs -H "Authorization: Bearer $reviewer" "http://127.0.0.1:$port/api/v1/review/queue?limit=2" | head -c 300; echo
machine_line
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port"
