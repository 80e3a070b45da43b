#!/usr/bin/env bash
# Import throughput: generates N licences (default 1,000,000) and imports them into a fresh
# SQLite file and, when PostgreSQL answers on 127.0.0.1:5432, into a fresh PostgreSQL database.
# Prints rows/s for each. Usage: scripts/bench-import.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
cargo build --release --quiet
bin=target/release/elicence
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "generating $count records…"
"$bin" gen-registry --count "$count" --seed 42 > "$work/registry.ndjson"
ls -lh "$work/registry.ndjson" | awk '{print "input: " $5}'

run() { # label url
    local start end
    "$bin" --database-url "$2" migrate >/dev/null
    start=$(date +%s.%N)
    RUST_LOG=warn "$bin" --database-url "$2" import "$work/registry.ndjson"
    end=$(date +%s.%N)
    awk -v n="$count" -v s="$start" -v e="$end" -v l="$1" 'BEGIN { printf "%s: %d rows in %.2f s wall = %.0f rows/s\n", l, n, e - s, n / (e - s) }'
}

run "sqlite (fresh file)" "sqlite://$work/bench.db"
run "sqlite (re-import, all updates)" "sqlite://$work/bench.db"

if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    db="elicence_bench_$$"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db"
    run "postgresql (fresh database)" "postgres://postgres@127.0.0.1:5432/$db"
    run "postgresql (re-import, all updates)" "postgres://postgres@127.0.0.1:5432/$db"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE $db WITH (FORCE)"
else
    echo "postgresql: not reachable on 127.0.0.1:5432, skipped"
fi
