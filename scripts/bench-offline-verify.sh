#!/usr/bin/env bash
# Offline verification throughput: signs N real codes (default 200,000) with a fresh key ring,
# then times `elicence verify --file` on one thread and on every core, release build.
# Prints codes/s for each. Usage: scripts/bench-offline-verify.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-200000}"
cargo build --release --quiet
bin=target/release/elicence
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "signing $count codes…"
"$bin" gen-codes --count "$count" --out "$work" --seed 42
ls -lh "$work/codes.txt" | awk '{print "input: " $5}'

run() { # label threads
    local start end
    start=$(date +%s.%N)
    "$bin" verify --jwks "$work/jwks.json" --file "$work/codes.txt" --threads "$2" > "$work/out.txt"
    end=$(date +%s.%N)
    awk -v n="$count" -v s="$start" -v e="$end" -v l="$1" \
        'BEGIN { printf "%s: %d codes in %.2f s wall = %.0f codes/s\n", l, n, e - s, n / (e - s) }'
}

run "1 thread" 1
run "$(nproc) threads" "$(nproc)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
