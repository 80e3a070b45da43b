#!/usr/bin/env bash
# Upload-to-queued: POST /api/v1/me/e-licence with a typical phone photo (12 MP, ~2 MB JPEG)
# as multipart, answered 202 once it is decoded, normalised, pre-checked and queued. One
# holder uploads again and again (each upload supersedes the pending one); wrk keeps
# CONNECTIONS uploads in flight. Prints uploads/s and the latency distribution.
# Usage: scripts/load-upload.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-2}"
source scripts/lib/load-common.sh

load_registry 1
holder_tokens 1
start_server
"$bin" gen-photo "$work/phone.jpg"
boundary="elicence-load-$RANDOM"
python3 - "$work/phone.jpg" "$work/body.bin" "$boundary" <<'PY'
import sys
photo, out, boundary = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(photo, "rb").read()
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\ncamera\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"phone.jpg\"\r\n"
        f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
open(out, "wb").write(body)
PY
echo "upload: $(stat -c %s "$work/phone.jpg") bytes JPEG, 3024x4032"
token=$(head -n1 "$work/tokens.txt")
cat > "$work/load.lua" <<LUA
$WRK_LATENCY_LUA
local f = io.open("$work/body.bin", "rb"); local body = f:read("*a"); f:close()
request = function()
    return wrk.format("POST", "/api/v1/me/e-licence", {
        ["Authorization"] = "Bearer $token",
        ["Content-Type"] = "multipart/form-data; boundary=$boundary",
    }, body)
end
done = function(summary, latency, requests) report_latency(summary, latency) end
LUA
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H "Content-Type: multipart/form-data; boundary=$boundary" --data-binary @"$work/body.bin" \
    "http://127.0.0.1:$port/api/v1/me/e-licence")
[ "$status" = 202 ] || { echo "the first upload was answered $status, not 202" >&2; exit 1; }
machine_line
wrk -t 1 -c "$connections" -d "${duration}s" --timeout 10s -s "$work/load.lua" "http://127.0.0.1:$port"
