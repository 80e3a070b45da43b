#!/usr/bin/env bash
# HTTP load on GET /api/v1/me/eligibility, the hottest holder read: a release server on a
# fresh SQLite file holding N licences (default 100,000), wrk with a different holder token
# per connection. Prints requests/s and the latency distribution (p50…p99).
# Usage: scripts/load-eligibility.sh [DURATION_SECONDS] [CONNECTIONS] [LICENCES]
# Extra serve flags: ELICENCE_SERVE_ARGS="--blocking-threads 2".
# Needs wrk (apt-get install wrk). Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-64}"
licences="${3:-100000}"
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/elicence
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
url="sqlite://$work/load.db"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" gen-registry --count "$licences" --seed 7 > "$work/registry.ndjson"
RUST_LOG=warn "$bin" --database-url "$url" import "$work/registry.ndjson" >/dev/null
# One holder token per connection, each bound to a different licence.
head -n 256 "$work/registry.ndjson" | python3 -c 'import sys, json; [print(json.loads(l)["number"]) for l in sys.stdin]' |
    while read -r number; do
        RUST_LOG=warn "$bin" --database-url "$url" token create --role holder --licence "$number" 2>/dev/null
    done > "$work/tokens.txt"

RUST_LOG=warn "$bin" --database-url "$url" serve --bind "127.0.0.1:$port" ${ELICENCE_SERVE_ARGS:-} &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

cat > "$work/tokens.lua" <<LUA
local tokens = {}
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("offset", counter) end
init = function() n = 0 end
request = function()
    n = n + 1
    local t = tokens[((n * 7 + offset) % #tokens) + 1]
    return wrk.format("GET", "/api/v1/me/eligibility", { ["Authorization"] = "Bearer " .. t })
end
done = function(summary, latency, requests)
    io.write(string.format("non-2xx or socket errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
    for _, p in ipairs({ 50, 90, 99, 99.9 }) do
        io.write(string.format("p%s latency: %.2f ms\n", p, latency:percentile(p) / 1000))
    end
end
LUA
curl -fs -H "Authorization: Bearer $(head -n1 "$work/tokens.txt")" "http://127.0.0.1:$port/api/v1/me/eligibility" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server and wrk share it"
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/tokens.lua" "http://127.0.0.1:$port"
