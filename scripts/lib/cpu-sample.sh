# CPU time spent by processes between two moments, read from /proc: what the load scripts divide
# by the requests served to get CPU per request, a figure that holds when the machine is full
# (its throughput cannot grow, its cost per request can still be compared). load-common.sh
# sources it; Linux only. Every function is named cpu_sample_*.

# cpu_sample_postgres_pids [DB_URL]: the PostgreSQL processes, those whose comm starts with
# "postgres" (the postmaster, every backend, the WAL writer, checkpointer…). With DB_URL, the
# backends of other databases are left out (pg_stat_activity names their database): on a
# machine shared with other runs, their work is not ours. The cluster's own processes (no
# database: WAL writer, checkpointer) stay in, they work for every database.
cpu_sample_postgres_pids() {
    local others="" d comm
    if [ -n "${1:-}" ]; then
        others=" $(psql -X -qtA "$1" -c "SELECT pid FROM pg_stat_activity
            WHERE datname IS NOT NULL AND datname <> current_database()" | tr '\n' ' ') "
    fi
    for d in /proc/[0-9]*; do
        comm="$(cat "$d/comm" 2>/dev/null)" || continue
        case "$comm" in postgres*) ;; *) continue ;; esac
        case "$others" in *" ${d#/proc/} "*) continue ;; esac
        echo "${d#/proc/}"
    done
}

# cpu_sample_snapshot FILE PID…: one line "pid ticks" per process still running, ticks being
# its user + system time (fields 14 and 15 of /proc/PID/stat) in clock ticks.
cpu_sample_snapshot() {
    local file="$1" pid stat; shift
    : > "$file"
    for pid in "$@"; do
        stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
        # Fields are counted after the comm, which is in parentheses and may hold spaces:
        # there, state is field 1, so utime and stime are 12 and 13.
        echo "$pid ${stat##*) }" | awk '{print $1, $13 + $14}' >> "$file"
    done
}

# cpu_sample_seconds BEFORE AFTER: CPU seconds spent between two snapshots by the processes of
# AFTER (one that started in between counts from zero; one that ended in between is lost: its
# time is no longer in /proc, so sample processes that live through the run).
cpu_sample_seconds() {
    awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { before[$1] = $2; next }
        { total += $2 - ($1 in before ? before[$1] : 0) }
        END { printf "%.3f\n", total / hz }' "$1" "$2"
}

# cpu_sample_machine: "busy total" ticks of the whole machine since boot (/proc/stat, all
# cores: busy is user, nice, system, irq, softirq and steal); two of them give how full it was.
cpu_sample_machine() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# cpu_sample_busy_percent "BUSY TOTAL" "BUSY TOTAL": the machine's busy share in between.
cpu_sample_busy_percent() {
    echo "$1 $2" | awk '{ printf "%.0f\n", ($4 > $2) ? 100 * ($3 - $1) / ($4 - $2) : 0 }'
}
