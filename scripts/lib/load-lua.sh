# wrk Lua for each measured route, shared by the single-route load scripts and
# load-side-by-side.sh. Each function prints a whole script on stdout; every script ends by
# printing what report_latency prints (requests, errors, p50…p99.9), plus its own counts.

# eligibility_lua TOKENS: GET /api/v1/me/eligibility, a token of TOKENS per request, in turn.
eligibility_lua() {
    cat <<LUA
$WRK_LATENCY_LUA
$(rotating_items_lua "$1")
request = function()
    return wrk.format("GET", "/api/v1/me/eligibility", { ["Authorization"] = "Bearer " .. next_item() })
end
done = function(summary, latency, requests)
    report_latency(summary, latency)
end
LUA
}

# issuance_lua TOKENS: POST /api/v1/me/e-licence with the photo on file; each holder of
# TOKENS applies once (thread k takes tokens k, k + 2, …). Counts the 201s.
issuance_lua() {
    cat <<LUA
$WRK_LATENCY_LUA
local tokens = {}
for line in io.lines("$1") do tokens[#tokens + 1] = line end
$THREAD_OFFSETS_LUA
init = function() n = 0; created = 0; other = 0 end
request = function()
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
}

# verify_lua CODES OFFICER_TOKEN: POST /api/v1/verify, a QR text of CODES per request.
verify_lua() {
    cat <<LUA
$WRK_LATENCY_LUA
$(rotating_items_lua "$1")
request = function()
    return wrk.format("POST", "/api/v1/verify", {
        ["Authorization"] = "Bearer $2", ["Content-Type"] = "application/json",
    }, '{"code":"' .. next_item() .. '"}')
end
done = function(summary, latency, requests)
    report_latency(summary, latency)
end
LUA
}

# events_lua NUMBERS ADMIN_TOKEN: POST /api/v1/admin/licences/{n}/events walking the licences
# of NUMBERS; each visit sends the next event of a cycle (status set, points, status cleared,
# points), one licence in ten a class change on its first visit (a supersede).
events_lua() {
    cat <<LUA
$WRK_LATENCY_LUA
local numbers = {}
for line in io.lines("$1") do numbers[#numbers + 1] = line end
local cycle = {
    '{"type":"status_set","status":"suspended"}',
    '{"type":"points_changed","points":3}',
    '{"type":"status_cleared","status":"suspended"}',
    '{"type":"points_changed","points":0}',
}
$THREAD_OFFSETS_LUA
init = function() n = 0; ok = 0; changed = 0; superseded = 0 end
request = function()
    -- Thread k takes visits k, k + 2, k + 4, …: licence = visit mod N, pass = visit div N.
    local visit = n * 2 + offset - 1
    n = n + 1
    local i = visit % #numbers
    local pass = math.floor(visit / #numbers)
    local body
    if pass == 0 and i % 10 == 0 then
        body = '{"type":"classes_changed","classes":["A1","D"]}'
    else
        body = cycle[(pass % 4) + 1]
    end
    return wrk.format("POST", "/api/v1/admin/licences/" .. numbers[i + 1] .. "/events", {
        ["Authorization"] = "Bearer $2", ["Content-Type"] = "application/json",
    }, body)
end
response = function(status, headers, body)
    if status == 200 then ok = ok + 1 end
    if body:find('"changed":true', 1, true) then changed = changed + 1 end
    if body:find('"superseded_e_licence":"', 1, true) then superseded = superseded + 1 end
end
done = function(summary, latency, requests)
    local ok, changed, superseded = 0, 0, 0
    for _, t in ipairs(threads) do
        ok = ok + t:get("ok"); changed = changed + t:get("changed"); superseded = superseded + t:get("superseded")
    end
    io.write(string.format("events applied (200): %d, changed: %d, superseded an e-licence: %d\n", ok, changed, superseded))
    io.write(string.format("events per second: %.0f\n", ok / (summary.duration / 1e6)))
    report_latency(summary, latency)
end
LUA
}

# healthz_lua: GET /healthz, the reference: what the machine serves when a request does nothing.
healthz_lua() {
    cat <<LUA
$WRK_LATENCY_LUA
done = function(summary, latency, requests)
    report_latency(summary, latency)
end
LUA
}
