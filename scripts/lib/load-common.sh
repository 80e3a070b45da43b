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
# $work/tokens.txt (the token alone on each line).
holder_tokens() {
    head -n "$1" "$work/registry.ndjson" |
        python3 -c 'import sys, json; [print(json.loads(l)["number"]) for l in sys.stdin]' > "$work/numbers.txt"
    RUST_LOG=warn "$bin" --database-url "$url" token create --role holder \
        --licence-file "$work/numbers.txt" 2>/dev/null | cut -d' ' -f2 > "$work/tokens.txt"
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

# rotating_items_lua FILE: wrk Lua that loads FILE's lines into `items`; `next_item()` walks
# them on a stride, each wrk thread from its own offset.
rotating_items_lua() {
    cat <<LUA
local items = {}
for line in io.lines("$1") do items[#items + 1] = line end
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("offset", counter) end
init = function() n = 0 end
next_item = function() n = n + 1; return items[((n * 7 + offset) % #items) + 1] end
LUA
}

source "$(dirname "${BASH_SOURCE[0]}")/load-lua.sh"
