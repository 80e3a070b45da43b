# Shared by the HTTP load scripts: a release build, a fresh SQLite file with generated
# licences, holder tokens for them, and a server on a random local port. Source it; it sets
# $bin, $work, $url, $port and stops the server and removes $work on exit.
# Needs wrk (apt-get install wrk). Traffic stays on 127.0.0.1.

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
# ELICENCE_BIN=path measures that binary instead (e.g. a copy of an earlier build, to compare).
if [ -z "${ELICENCE_BIN:-}" ]; then cargo build --release --quiet; fi
bin="${ELICENCE_BIN:-${CARGO_TARGET_DIR:-target}/release/elicence}"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
url="sqlite://$work/load.db"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# load_registry COUNT [gen-registry flags…]: COUNT generated licences, imported.
load_registry() {
    local count="$1"; shift
    "$bin" gen-registry --count "$count" --seed 7 "$@" > "$work/registry.ndjson"
    RUST_LOG=warn "$bin" --database-url "$url" import "$work/registry.ndjson" >/dev/null
}

# holder_tokens COUNT: one holder token for each of the first COUNT licences, in
# $work/tokens.txt (the token alone on each line); their numbers in $work/numbers.txt.
holder_tokens() {
    head -n "$1" "$work/registry.ndjson" |
        python3 -c 'import sys, json; [print(json.loads(l)["number"]) for l in sys.stdin]' > "$work/numbers.txt"
    holder_tokens_of "$work/numbers.txt"
}

# holder_tokens_of NUMBERS: one holder token for each licence number of the file NUMBERS, in
# $work/tokens.txt, in the same order.
holder_tokens_of() {
    RUST_LOG=warn "$bin" --database-url "$url" token create --role holder \
        --licence-file "$1" 2>/dev/null | cut -d' ' -f2 > "$work/tokens.txt"
}

# start_server [serve flags…]: serves in the background and waits until it answers. The
# first call on a database makes its signing key (serve makes none outside --demo; the key
# states live in the database, the pem in $work/keys).
start_server() {
    RUST_LOG=warn "$bin" --database-url "$url" keys list --keys-dir "$work/keys" 2>/dev/null | grep -q " active " ||
        RUST_LOG=warn "$bin" --database-url "$url" keys generate --keys-dir "$work/keys" >/dev/null
    RUST_LOG=error "$bin" --database-url "$url" serve --bind "127.0.0.1:$port" \
        --keys-dir "$work/keys" ${ELICENCE_SERVE_ARGS:-} "$@" &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
    echo "the server did not start" >&2; exit 1
}

# stop_server: stops the server started last, and waits until it is gone.
stop_server() {
    kill "$server"; wait "$server" 2>/dev/null || true; server=
}

# postgres_url_from_env: DATABASE_URL when it names PostgreSQL (the scripts that compare run
# it after SQLite, which always runs on a fresh file), else nothing; exits on anything else.
postgres_url_from_env() {
    case "${DATABASE_URL:-}" in
        "" | sqlite:*) ;;
        postgres://* | postgresql://*) echo "$DATABASE_URL" ;;
        *) echo "DATABASE_URL must be a postgres:// URL (SQLite is always run, on a fresh file)" >&2; exit 2 ;;
    esac
}

machine_line() {
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg); server and wrk share it"
}

# What every script prints at the end of a wrk run (Lua, for wrk's done()).
WRK_LATENCY_LUA='
report_latency = function(summary, latency)
    io.write(string.format("requests: %d\n", summary.requests))
    io.write(string.format("non-2xx or socket errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
    for _, p in ipairs({ 50, 75, 90, 95, 99, 99.9 }) do
        io.write(string.format("p%s latency: %.2f ms\n", p, latency:percentile(p) / 1000))
    end
end
'

# wrk Lua: each thread gets its number in `offset` (1, 2, …), and `threads` keeps them, for a
# done() that sums their counts.
THREAD_OFFSETS_LUA='
local threads = {}
local counter = 0
setup = function(thread)
    counter = counter + 1
    thread:set("offset", counter)
    threads[#threads + 1] = thread
end
'

# rotating_items_lua FILE: wrk Lua that loads FILE's lines into `items`; `next_item()` walks
# them on a stride, each wrk thread from its own offset.
rotating_items_lua() {
    cat <<LUA
local items = {}
for line in io.lines("$1") do items[#items + 1] = line end
$THREAD_OFFSETS_LUA
init = function() n = 0 end
next_item = function() n = n + 1; return items[((n * 7 + offset) % #items) + 1] end
LUA
}

# cpu_pg_pids: the PostgreSQL processes that serve the database at $url (cpu_sample_postgres_pids),
# nothing for SQLite.
cpu_pg_pids() {
    case "$url" in postgres://* | postgresql://*) cpu_sample_postgres_pids "$url" ;; esac
}

# measure BACKEND ROUTE LUA [PATH]: one wrk run of $duration seconds with $connections on the
# server started last. Into $work/result-BACKEND-ROUTE: req/s and p99; into
# $work/cpu-BACKEND-ROUTE: CPU ms a request served, requests served, CPU seconds (the server
# and, on PostgreSQL, its processes: scripts/lib/cpu-sample.sh).
measure() {
    local out="$work/wrk-$1-$2.txt" seconds
    # The processes are listed at each end: a backend opened during the run counts from zero.
    # shellcheck disable=SC2046 # one pid a word
    cpu_sample_snapshot "$work/cpu-before" "$server" $(cpu_pg_pids)
    wrk -t 2 -c "$connections" -d "${duration}s" --timeout 10s -s "$3" "http://127.0.0.1:$port${4:-}" > "$out"
    # shellcheck disable=SC2046
    cpu_sample_snapshot "$work/cpu-after" "$server" $(cpu_pg_pids)
    seconds=$(cpu_sample_seconds "$work/cpu-before" "$work/cpu-after")
    echo "-- $1 $2"; grep -E '^(Requests/sec|non-2xx|p50|p99 |created|events applied)' "$out" || true
    # Issuance counts e-licences created (201s), not answers: a holder who has one already
    # gets a cheaper 200.
    local rps served
    rps=$(awk '/^e-licences created per second/ {print $5}' "$out")
    [ -n "$rps" ] || rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
    printf '%s %s\n' "$rps" "$(awk '/^p99 latency/ {print $3 " ms"}' "$out")" > "$work/result-$1-$2"
    served=$(awk '/^created \(201\)/ {sub(",", "", $3); print $3}' "$out")
    [ -n "$served" ] || served=$(awk '/^requests:/ {print $2}' "$out")
    echo "$seconds $served" |
        awk '{ printf "%.4f %d %.2f\n", ($2 > 0 ? 1000 * $1 / $2 : 0), $2, $1 }' > "$work/cpu-$1-$2"
    echo "CPU (the server, and PostgreSQL on a PostgreSQL database): $(cut -d' ' -f3 "$work/cpu-$1-$2") s, $(cut -d' ' -f1 "$work/cpu-$1-$2") ms a request"
}

# The routes measure_routes measures, in its order.
measured_routes="issuance eligibility verify events healthz"

# measure_routes BACKEND: an officer and an admin token, then measure on each route of
# $measured_routes against the server started last, as the holders of $work/tokens.txt
# (issuance: each applies once) and on the licences of $work/numbers.txt (events).
measure_routes() {
    local name="$1" officer admin
    officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label load 2>/dev/null)
    admin=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role admin 2>/dev/null)
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
}

source "$(dirname "${BASH_SOURCE[0]}")/load-lua.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cpu-sample.sh"
