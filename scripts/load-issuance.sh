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

cat > "$work/load.lua" <<LUA
$WRK_LATENCY_LUA
local tokens = {}
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
local threads = {}
local counter = 0
setup = function(thread)
    counter = counter + 1
    thread:set("offset", counter)
    threads[#threads + 1] = thread
end
init = function() n = 0; created = 0; other = 0 end
request = function()
    -- Thread k takes tokens k, k + 2, k + 4, …: each holder applies once.
    local t = tokens[((n * 2 + offset - 1) % #tokens) + 1]
    n = n + 1
    return wrk.format("POST", "/api/v1/me/e-licence", {
        ["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json",
    }, '{"photo":"on_file"}')
end
response = function(status, headers, body)
    if status == 201 then created = created + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
    local created, other = 0, 0
    for _, t in ipairs(threads) do created = created + t:get("created"); other = other + t:get("other") end
    io.write(string.format("created (201): %d, other answers: %d, tokens: %d\n", created, other, #tokens))
    io.write(string.format("e-licences created per second: %.0f\n", created / (summary.duration / 1e6)))
    report_latency(summary, latency)
end
LUA
machine_line
wrk -t 2 -c "$connections" -d "${duration}s" -s "$work/load.lua" "http://127.0.0.1:$port"
