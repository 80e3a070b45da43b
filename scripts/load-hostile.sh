#!/usr/bin/env bash
# One client must not slow everyone down (issue 11, points 1 and 3): wrk on
# GET /api/v1/me/eligibility (a different holder token per connection), three times:
#   A  alone;
#   B  beside SLOW connections (default 500) that send a bad bearer token and a JSON body at
#      one byte a second, each opened again as soon as the server is done with it. The token
#      is `x` (refused without a lookup); SLOW_TOKENS=lookup sends a fresh well-formed unknown
#      token each time instead, which costs the server a token lookup per connection;
#   C  beside 8 parallel uploads, again and again, of a 99-scan progressive 12 MP JPEG.
# Prints p50/p99 of each phase, the ratios B/A and C/A, what became of the slow connections
# and of the uploads, and the machine. Goals (docs/limits.md): B within 2x of A, C p99
# <= 25 ms on a quiet machine.
# Usage: scripts/load-hostile.sh [SECONDS_PER_PHASE] [WRK_CONNECTIONS] [SLOW] [LICENCES]
# Needs wrk, cjpeg and djpeg (apt-get install -y wrk libjpeg-turbo-progs) and python3.
# Extra serve flags: ELICENCE_SERVE_ARGS="--photo-threads 1".
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-16}"
slow="${3:-500}"
licences="${4:-10000}"
command -v cjpeg >/dev/null && command -v djpeg >/dev/null || {
    echo "cjpeg and djpeg are not installed: apt-get install -y libjpeg-turbo-progs" >&2
    exit 1
}
source scripts/lib/load-common.sh

load_registry "$licences"
holder_tokens 257
# The last token uploads; wrk reads with the others.
tail -n 1 "$work/tokens.txt" > "$work/uploader.txt"
head -n 256 "$work/tokens.txt" > "$work/readers.txt"
# The upload rate limit would turn most hostile uploads away with 429 before they reach the
# photo pool; this measures the pool, so it is lifted here (it is tested in tests/api).
start_server --uploads-per-minute 1000000 --upload-burst 1000000

# A 12 MP phone photo encoded again as a 4:2:0 progressive JPEG of 99 scans: Y's 63 AC
# coefficients one scan each, Cb's first 17 and Cr's first 16 one scan each, the rest of each
# in one more, and the DC of all three in the first. Still a good portrait, within the
# decoder's budget (progressive at most 16 MP, 4:2:0 fits: docs/photo-limits.md), so it is
# decoded, and every scan makes the decoder walk the whole coefficient buffer again.
"$bin" gen-photo "$work/phone.jpg"
djpeg -pnm -outfile "$work/phone.ppm" "$work/phone.jpg"
{
    echo "0,1,2: 0-0, 0, 0;"
    for k in $(seq 1 63); do echo "0: $k-$k, 0, 0;"; done
    for k in $(seq 1 17); do echo "1: $k-$k, 0, 0;"; done
    echo "1: 18-63, 0, 0;"
    for k in $(seq 1 16); do echo "2: $k-$k, 0, 0;"; done
    echo "2: 17-63, 0, 0;"
} > "$work/scans.txt"
cjpeg -quality 90 -sample 2x2 -scans "$work/scans.txt" -outfile "$work/hostile.jpg" "$work/phone.ppm"
scans=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(b"\xff\xda"))' "$work/hostile.jpg")
echo "hostile upload: $(stat -c %s "$work/hostile.jpg") bytes, 3024x4032, 4:2:0 progressive, $scans scans"

eligibility_lua "$work/readers.txt" > "$work/load.lua"
curl -fs -H "Authorization: Bearer $(head -n1 "$work/readers.txt")" \
    "http://127.0.0.1:$port/api/v1/me/eligibility" >/dev/null

# run_wrk NAME: one phase of wrk; its report in $work/NAME.txt.
run_wrk() {
    wrk -t 2 -c "$connections" -d "${duration}s" --timeout 10s -s "$work/load.lua" \
        "http://127.0.0.1:$port" > "$work/$1.txt"
}
percentile() { awk -v p="p$2 latency:" 'index($0, p) == 1 { print $3 }' "$work/$1.txt"; }

machine_line
echo "wrk: $connections connections, ${duration}s a phase, eligibility of 256 holders"

run_wrk alone

python3 scripts/lib/slow_bodies.py 127.0.0.1 "$port" /api/v1/verify "$slow" "$((duration + 5))" \
    "${SLOW_TOKENS:-x}" > "$work/slow-bodies.txt" &
slow_pid=$!
# Wait for every slow connection to be open (the helper says so), not a fixed time.
for _ in $(seq 1 300); do grep -q '^ready' "$work/slow-bodies.txt" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$work/slow-bodies.txt" || { echo "the slow connections did not open" >&2; exit 1; }
run_wrk slow
wait "$slow_pid"

upload() {
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
        -H "Authorization: Bearer $(cat "$work/uploader.txt")" \
        -F source=camera -F "photo=@$work/hostile.jpg;type=image/jpeg" \
        "http://127.0.0.1:$port/api/v1/me/e-licence"
}
touch "$work/uploading"
uploaders=()
for i in $(seq 1 8); do
    (while [ -e "$work/uploading" ]; do upload; done > "$work/uploads-$i.txt") &
    uploaders+=($!)
done
run_wrk hostile
rm -f "$work/uploading"
wait "${uploaders[@]}"

echo
printf '%-34s %10s %10s\n' phase "p50 ms" "p99 ms"
for phase in alone slow hostile; do
    case $phase in
        alone) label="A  wrk alone" ;;
        slow) label="B  beside $slow slow bad-token bodies (${SLOW_TOKENS:-x})" ;;
        hostile) label="C  beside 8 hostile uploads" ;;
    esac
    printf '%-34s %10s %10s\n' "$label" "$(percentile "$phase" 50)" "$(percentile "$phase" 99)"
done
ratio() { awk -v a="$(percentile alone 99)" -v b="$(percentile "$1" 99)" 'BEGIN { printf "%.2f", b / a }'; }
echo "p99 ratio B/A: $(ratio slow)  (goal: at most 2)"
echo "p99 ratio C/A: $(ratio hostile)  (goal: C p99 at most 25 ms)"
for phase in alone slow hostile; do echo "wrk $phase: $(grep 'non-2xx' "$work/$phase.txt")"; done
tail -n 1 "$work/slow-bodies.txt"
echo "hostile uploads by answer: $(cat "$work"/uploads-*.txt | sort | uniq -c | awk '{printf "%s x%s  ", $2, $1}')"
machine_line
