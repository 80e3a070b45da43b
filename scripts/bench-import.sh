#!/usr/bin/env bash
# Import throughput, SQLite and PostgreSQL side by side in one run: generates N licences
# (default 200,000) and imports them into a fresh SQLite file, then into an emptied
# PostgreSQL database, each fresh and again (a re-import: every row an update, nothing
# changed, no event). PostgreSQL runs three ways: multi-row upserts with one writer (the path
# before COPY, `--no-copy --jobs 1`), COPY with one writer, COPY with one writer a core.
#
# Usage: scripts/bench-import.sh [N]
#   DATABASE_URL  a PostgreSQL database the benchmark may empty (its `public` schema is dropped
#                 and made again before each run); default: a database made for the run on
#                 127.0.0.1:5432 and dropped after it.
#   JOBS          writers of the parallel run (default: the cores here)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-200000}"
jobs="${JOBS:-$(nproc)}"
cargo build --release --quiet
bin=target/release/elicence
work="$(mktemp -d)"
made_db=""
cleanup() {
    rm -rf "$work"
    if [ -n "$made_db" ]; then
        psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE $made_db WITH (FORCE)"
    fi
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "generating $count records…"
"$bin" gen-registry --count "$count" --seed 42 > "$work/registry.ndjson"
ls -lh "$work/registry.ndjson" | awk '{print "input: " $5}'

results=()
run() { # label url import-flags…
    local label="$1" url="$2" start end line
    shift 2
    "$bin" --database-url "$url" migrate >/dev/null
    start=$(date +%s.%N)
    RUST_LOG=warn "$bin" --database-url "$url" import "$@" "$work/registry.ndjson" >/dev/null
    end=$(date +%s.%N)
    line=$(awk -v n="$count" -v s="$start" -v e="$end" -v l="$label" \
        'BEGIN { printf "%-46s %8.2f s %9.0f rows/s", l, e - s, n / (e - s) }')
    echo "$line"
    results+=("$line")
}

sqlite_db="sqlite://$work/bench.db"
run "sqlite, fresh file" "$sqlite_db"
run "sqlite, re-import (all updates)" "$sqlite_db"

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && [ -z "${DATABASE_URL:-}" ]; then
    echo "postgresql: not reachable on 127.0.0.1:5432 and no DATABASE_URL, skipped"
    exit 0
fi
pg="${DATABASE_URL:-}"
if [ -z "$pg" ]; then
    made_db="elicence_bench_$$"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $made_db"
    pg="postgres://postgres@127.0.0.1:5432/$made_db"
fi
empty_pg() {
    psql "$pg" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public" 2>/dev/null
}
pg_runs() { # label-suffix import-flags…
    local suffix="$1"
    shift
    empty_pg
    run "postgresql $suffix, fresh" "$pg" "$@"
    run "postgresql $suffix, re-import" "$pg" "$@"
}
pg_runs "row upserts, 1 job (before)" --no-copy --jobs 1
pg_runs "COPY, 1 job" --jobs 1
pg_runs "COPY, $jobs jobs" --jobs "$jobs"
empty_pg

echo
echo "side by side ($count licences):"
printf '  %s\n' "${results[@]}"
