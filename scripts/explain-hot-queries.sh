#!/usr/bin/env bash
# The plan of every statement the hot routes send to PostgreSQL (issue 12, point 4: "every hot
# query by index — show the EXPLAIN of each"). The statements are the server's own, read from
# the PostgreSQL log, not copies written by hand that could drift from the code:
#   1. a throwaway database elicence_explain_<pid> with N generated licences (default 100,000,
#      a photo on file each), a holder token each, E of them with an e-licence (default
#      10,000), an officer and an admin token, a few seconds of verify and registry-event
#      traffic (so the audit, event and notification tables are not empty), then ANALYZE;
#   2. `ALTER DATABASE … SET log_min_duration_statement = 0` for that database alone and a
#      server restarted so its connections log every statement with its parameters;
#   3. the idle server for 3 s (the status-list pass and the key reload every process runs),
#      then a few requests per route, the log's size noted around each: eligibility,
#      issuance (photo on file), verify, registry events, the status list;
#   4. with the server stopped, each distinct statement of each window explained with its
#      logged parameters (scripts/lib/explain_hot_queries.py): EXPLAIN (ANALYZE, BUFFERS,
#      COSTS OFF, TIMING OFF), writes in a transaction rolled back; a Seq Scan on a table
#      that grows with the drivers is listed as a finding.
# Writes the Markdown report to REPORT (default: standard output). The logging setting is
# reset and the database dropped on exit (KEEP_DB=1 keeps it, to explain more by hand).
# Needs: root or a user that may read the server log (Debian: /var/log/postgresql/); a
# superuser connection PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).
# Usage: [ELICENCE_BIN=…] scripts/explain-hot-queries.sh [LICENCES] [E_LICENCES] [REPORT]
set -euo pipefail
cd "$(dirname "$0")/.."
licences="${1:-100000}"
issued="${2:-10000}"
report="${3:-/dev/stdout}"
admin_url="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# Requests per route in the logged windows: enough to see what repeats, few enough to read.
per_route=5
source scripts/lib/load-common.sh

db="elicence_explain_$$"
url="${admin_url%/*}/$db"
admin() { psql -X -qtA -v ON_ERROR_STOP=1 "$admin_url" -c "$1"; }
# After load-common's cleanup (the server stopped, $work removed): the setting reset, the
# database dropped. Runs on every exit, so a failed run leaves no logging switched on.
explain_cleanup() {
    admin "ALTER DATABASE $db RESET ALL" 2>/dev/null || true
    [ -n "${KEEP_DB:-}" ] || admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap 'cleanup; explain_cleanup' EXIT

# The server log. With logging_collector on, pg_current_logfile() names it (relative to the
# data directory); off (Debian's default), pg_ctlcluster sends stderr to
# /var/log/postgresql/postgresql-<cluster_name with - for />.log. LOG_FILE=… overrides.
server_log() {
    if [ -n "${LOG_FILE:-}" ]; then echo "$LOG_FILE"; return; fi
    local current cluster
    current="$(admin "SELECT pg_current_logfile('stderr')")"
    if [ -n "$current" ]; then
        case "$current" in /*) echo "$current" ;; *) echo "$(admin 'SHOW data_directory')/$current" ;; esac
        return
    fi
    cluster="$(admin 'SHOW cluster_name')"
    echo "/var/log/postgresql/postgresql-${cluster//\//-}.log"
}
log="$(server_log)"
[ -r "$log" ] || { echo "cannot read the PostgreSQL log $log (root, or LOG_FILE=…)" >&2; exit 1; }
# The prefix the parser reads: time, [pid], user@database.
case "$(admin 'SHOW log_line_prefix')" in
    "%m [%p] %q%u@%d "*) ;;
    *) echo "log_line_prefix must start with '%m [%p] %q%u@%d ' (Debian's default)" >&2; exit 1 ;;
esac

admin "CREATE DATABASE $db" >/dev/null
echo "== filling $db: $licences licences, $issued e-licences; $(machine_line)" >&2
load_registry "$licences" --with-photo
holder_tokens "$licences"
officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label explain 2>/dev/null)
admin_token=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role admin 2>/dev/null)
start_server --code-ttl-secs 86400
head -n "$issued" "$work/tokens.txt" > "$work/issue-tokens.txt"
python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port" "$work/issue-tokens.txt" "$work/codes.txt"
# A few seconds of traffic so the tables the hot routes append to hold rows, as they would.
verify_lua "$work/codes.txt" "$officer" > "$work/verify.lua"
# Events on the licences past those the logged windows use: theirs stay as generated (an
# event cycle leaves some suspended, and a suspended holder gets no e-licence).
tail -n +$((issued + per_route + 1)) "$work/numbers.txt" > "$work/fill-numbers.txt"
events_lua "$work/fill-numbers.txt" "$admin_token" > "$work/events.lua"
for lua in verify events; do
    wrk -t 2 -c 8 -d 3s -s "$work/$lua.lua" "http://127.0.0.1:$port" | grep -E '^(Requests/sec|non-2xx)' >&2
done
stop_server
# Statistics as a running system has them (autovacuum may not have come by since the load).
psql -X -q "$url" -c "VACUUM ANALYZE" >/dev/null
psql -X -qtA -F ' ' "$url" -c "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY n_live_tup DESC" > "$work/rows.txt"

# Every statement of this database's sessions, with its parameters, whatever its duration.
admin "ALTER DATABASE $db SET log_min_duration_statement = 0" >/dev/null
admin "ALTER DATABASE $db SET log_parameter_max_length = -1" >/dev/null
start_server --code-ttl-secs 86400
sleep 2  # the first status-list pass of a new process signs and reloads: not the steady state

windows=()
# window NAME: from here to the next `end_window`, the log's bytes belong to NAME.
window() { sync_log; window_name="$1"; window_start="$(stat -c %s "$log")"; }
end_window() { sync_log; windows+=("$window_name:$window_start:$(stat -c %s "$log")"); }
# The backends write their lines as they run; a short pause lets the last answer's statements
# (a commit after the response was queued) reach the file.
sync_log() { sleep 0.3; }
# send NAME WHAT CURL_ARGS…: one request, its status appended to NAME's line in requests.tsv.
send() {
    local name="$1" what="$2"; shift 2
    printf '%s ' "$(curl -s -o /dev/null -w '%{http_code}' "$@")" >> "$work/answers-$name"
    last_what="$what"
}
note() { printf '%s\t%s\t%s\n' "$1" "$2" "$(cat "$work/answers-$1")" >> "$work/requests.tsv"; rm -f "$work/answers-$1"; }
api="http://127.0.0.1:$port/api/v1"
json=(-H 'Content-Type: application/json')

window background
sleep 3
end_window
: > "$work/answers-background"; note background "nothing, the server idle for 3 s"

window eligibility
for i in $(seq 1 $per_route); do
    send eligibility "GET /api/v1/me/eligibility, $per_route holders" -H "Authorization: Bearer $(sed -n "${i}p" "$work/tokens.txt")" "$api/me/eligibility"
done
end_window
note eligibility "$last_what"

# Holders past the first $issued have no e-licence yet: a new one each (some generated
# licences may not drive: 422); then one who has one (200, the cheaper answer).
window issuance
for i in $(seq $((issued + 1)) $((issued + per_route))); do
    send issuance "POST /api/v1/me/e-licence {\"photo\":\"on_file\"}, $per_route new holders and 1 who has one" \
        -X POST "${json[@]}" -H "Authorization: Bearer $(sed -n "${i}p" "$work/tokens.txt")" -d '{"photo":"on_file"}' "$api/me/e-licence"
done
send issuance "$last_what" -X POST "${json[@]}" -H "Authorization: Bearer $(head -n 1 "$work/tokens.txt")" -d '{"photo":"on_file"}' "$api/me/e-licence"
end_window
note issuance "$last_what"

window verify
for i in $(seq 1 $per_route); do
    send verify "POST /api/v1/verify, $per_route roadside codes, one officer" -X POST "${json[@]}" -H "Authorization: Bearer $officer" \
        -d "{\"code\":\"$(sed -n "${i}p" "$work/codes.txt")\"}" "$api/verify"
done
end_window
note verify "$last_what"

# The cycle of load-lua.sh's events_lua on licences that hold an e-licence (their effects:
# status-list entries, a supersede for the class change).
window events
i=0
for body in '{"type":"status_set","status":"suspended"}' '{"type":"points_changed","points":3}' \
    '{"type":"status_cleared","status":"suspended"}' '{"type":"points_changed","points":0}' \
    '{"type":"classes_changed","classes":["A1","D"]}'; do
    i=$((i + 1))
    send events "POST /api/v1/admin/licences/{n}/events: status set, points, status cleared, points, class change" \
        -X POST "${json[@]}" -H "Authorization: Bearer $admin_token" -d "$body" "$api/admin/licences/$(sed -n "$((i + 20))p" "$work/numbers.txt")/events"
done
end_window
note events "$last_what"

window status-list
for _ in $(seq 1 $per_route); do
    send status-list "GET /api/v1/status-lists/0, $per_route times" "$api/status-lists/0"
done
end_window
note status-list "$last_what"

stop_server
admin "ALTER DATABASE $db RESET log_min_duration_statement" >/dev/null
admin "ALTER DATABASE $db RESET log_parameter_max_length" >/dev/null

{
    echo "Database: $licences licences, a holder token each, $(psql -X -qtA "$url" -c 'SELECT count(*) FROM e_licences') e-licences; rows by table after ANALYZE: $(awk '$2 > 0 {printf "%s%s %s", sep, $1, $2; sep=", "}' "$work/rows.txt")."
    echo
    python3 scripts/lib/explain_hot_queries.py "$log" "$db" "$url" "$work/requests.tsv" "${windows[@]}"
} > "$report"
echo "== report written to $report" >&2
