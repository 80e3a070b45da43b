#!/usr/bin/env bash
# Two `elicence serve` processes on one PostgreSQL database: does throughput add up? (issue 12,
# point 4). On a machine whose cores are all busy with one process, PostgreSQL and wrk, a
# second process cannot double req/s; what shows that processes add up is the CPU each request
# costs: the same with two processes as with one means a deployment scales with the cores it
# is given (the processes share nothing but the database: docs/scaling.md).
#
# N generated licences (default 20,000, a photo on file each) and a holder token each, an
# officer token, the codes of the first 2,000 holders; two processes on two ports over the
# same database and the same keys folder (the key is made once; its state lives in the
# database, which both read). Then, D seconds each (default 5), on eligibility and on verify:
#   one   wrk on process A alone, C connections (the other process idle);
#   two   two wrk at once, one per process, C/2 connections each.
# For each run: req/s per process and in total, and the CPU time per request: the user and
# system time of both server processes and of the PostgreSQL processes (comm "postgres*",
# the backends of other databases left out) from /proc, before and after, divided by the
# requests completed; and how busy the whole machine was (wrk's own CPU is in that share).
# DATABASE_URL=postgres://… names an empty, throwaway database (`createdb elicence_two`).
# Usage: DATABASE_URL=postgres://… scripts/load-two-processes.sh [SECONDS] [CONNECTIONS] [LICENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
connections="${2:-64}"
licences="${3:-20000}"
source scripts/lib/load-common.sh
url="$(postgres_url_from_env)"
[ -n "$url" ] || { echo "DATABASE_URL=postgres://… (an empty, throwaway database) is needed" >&2; exit 2; }
# load-common.sh stops the server started last; the first of the two must stop too.
server_a=""
trap '[ -n "$server_a" ] && kill "$server_a" 2>/dev/null; cleanup' EXIT

load_registry "$licences" --with-photo
holder_tokens "$licences"
officer=$(RUST_LOG=warn "$bin" --database-url "$url" token create --role officer --label load 2>/dev/null)
# Process A makes the signing key (start_server: once per database) and serves; B, started
# after it, finds the key active and loads it from the same folder.
start_server --code-ttl-secs 86400
server_a="$server" port_a="$port"
port=$((port_a + 1))
start_server --code-ttl-secs 86400
server_b="$server" port_b="$port"
head -n 2000 "$work/tokens.txt" > "$work/verify-tokens.txt"
python3 scripts/lib/issue_e_licences.py "http://127.0.0.1:$port_a" "$work/verify-tokens.txt" "$work/codes.txt"
eligibility_lua "$work/tokens.txt" > "$work/eligibility.lua"
verify_lua "$work/codes.txt" "$officer" > "$work/verify.lua"
# One second on each process, not counted: pools opened, statements prepared, pages cached.
for p in "$port_a" "$port_b"; do
    wrk -t 1 -c 8 -d 1s -s "$work/eligibility.lua" "http://127.0.0.1:$p" >/dev/null
done

# wrk_on PORT THREADS CONNECTIONS ROUTE OUT: one wrk run in the foreground.
wrk_on() {
    wrk -t "$2" -c "$3" -d "${duration}s" --timeout 10s -s "$work/$4.lua" "http://127.0.0.1:$1" > "$5"
}
requests() { awk '/^requests:/ {print $2}' "$1"; }
rps() { awk '/^Requests\/sec/ {printf "%.0f", $2}' "$1"; }

# run ROUTE one|two: a measured run; prints its lines and appends a row to $work/summary.
run() {
    local route="$1" mode="$2" out_a="$work/$1-$2-a.txt" out_b="$work/$1-$2-b.txt"
    local pg_pids m_before m_after n_a n_b=0
    # The PostgreSQL processes now: each server's pool and verifier connections are open and
    # live through the run, so none of their time is lost.
    pg_pids="$(cpu_sample_postgres_pids "$url")"
    cpu_sample_snapshot "$work/app-before" "$server_a" "$server_b"
    # shellcheck disable=SC2086 # one pid a word
    cpu_sample_snapshot "$work/pg-before" $pg_pids
    m_before="$(cpu_sample_machine)"
    if [ "$mode" = one ]; then
        wrk_on "$port_a" 2 "$connections" "$route" "$out_a"
    else
        # Half the connections each, one thread each: the same wrk threads and connections
        # in all as the run on one process.
        wrk_on "$port_a" 1 $((connections / 2)) "$route" "$out_a" &
        local wrk_a=$!
        wrk_on "$port_b" 1 $((connections / 2)) "$route" "$out_b"
        wait "$wrk_a"
    fi
    m_after="$(cpu_sample_machine)"
    cpu_sample_snapshot "$work/app-after" "$server_a" "$server_b"
    # shellcheck disable=SC2086
    cpu_sample_snapshot "$work/pg-after" $pg_pids
    n_a="$(requests "$out_a")"
    [ "$mode" = one ] || n_b="$(requests "$out_b")"
    local app pg busy
    app="$(cpu_sample_seconds "$work/app-before" "$work/app-after")"
    pg="$(cpu_sample_seconds "$work/pg-before" "$work/pg-after")"
    busy="$(cpu_sample_busy_percent "$m_before" "$m_after")"
    local errors r_a r_b=0
    r_a="$(rps "$out_a")"
    [ "$mode" = one ] || r_b="$(rps "$out_b")"
    errors="$(cat "$out_a" $([ "$mode" = one ] || echo "$out_b") | awk '/^non-2xx/ {n += $NF} END {print n + 0}')"
    if [ "$mode" = one ]; then
        echo "-- $route, one process: A $r_a req/s (B idle); $n_a requests, $errors errors"
    else
        echo "-- $route, two processes: A $r_a req/s, B $r_b req/s, total $((r_a + r_b)) req/s; $((n_a + n_b)) requests, $errors errors"
    fi
    echo "$route $mode $n_a $n_b $app $pg $busy $r_a $r_b" | awk '{
        n = $3 + $4
        printf "   CPU per request: elicence %.0f µs + PostgreSQL %.0f µs = %.0f µs (CPU-s: %.2f + %.2f); machine %d %% busy\n",
            1e6 * $5 / n, 1e6 * $6 / n, 1e6 * ($5 + $6) / n, $5, $6, $7
        printf "%-12s %-4s %9.0f %9.0f %9.0f %8.0f %8.0f %8.0f %5d%%\n", $1, $2, $8, $9, $8 + $9,
            1e6 * $5 / n, 1e6 * $6 / n, 1e6 * ($5 + $6) / n, $7 >> "'"$work/summary"'"
    }'
}

machine_line
for route in eligibility verify; do
    run "$route" one
    run "$route" two
done
echo "== $licences licences, $connections connections in all, ${duration} s a run; $(machine_line)"
printf '%-12s %-4s %9s %9s %9s %8s %8s %8s %6s\n' route runs "A req/s" "B req/s" "total" \
    "app µs" "PG µs" "µs/req" busy
cat "$work/summary"
