#!/usr/bin/env bash
# Peak memory of photo intake over the hostile decode corpus (src/photo/corpus.rs: the issue's
# progressive CMYK 6500x6500 JPEG and 8000x8000 1-bit PNG, a 99-scan progressive JPEG, 16-bit,
# interlaced and palette PNGs, 65535x65535 headers), alone and eight at once, beside a baseline
# (an ordinary 12 MP phone JPEG) from the same run. Two figures each:
#   - heap: the process-wide counting allocator of tests/photo_memory.rs (what the budget and
#     the gate bound; the test asserts <= 64 MiB a decode and <= 300 MiB for eight at once);
#   - RSS: the test process's maximum resident set size (GNU time), allocator retention and
#     the harness included.
# Builds in release (the server's profile) unless PROFILE=dev. Needs GNU time (Debian `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
bin=$(cargo test $flag --test photo_memory --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*photo_memory[^"]*"' | tail -n1 | cut -d'"' -f4)
[ -x "$bin" ] || { echo "could not build tests/photo_memory.rs" >&2; exit 1; }
run() { # test name -> its printed figures, then the process's peak RSS
    local out
    out=$(/usr/bin/time -v "$bin" "$1" --exact --nocapture --test-threads 1 2>&1)
    # libtest prints "test NAME ... " before the test's own first line.
    sed -n 's/^test [a-z_]* \.\.\. //; /^\(baseline\|peak heap\|  \|in parallel\)/p' <<<"$out"
    awk -F': ' '/Maximum resident/ {printf "  process peak RSS: %.1f MiB\n", $2 / 1024}' <<<"$out"
}
echo "== baseline ($profile)"
run baseline_phone_photo_peak_memory
echo "== hostile corpus ($profile)"
run hostile_corpus_peak_memory_alone_and_eight_at_once
# glibc raises its mmap threshold to each large block freed (up to 32 MiB), after which
# decoder buffers come from per-thread arenas that keep them: RSS 458 MiB against a 147 MiB
# heap peak (dev build). A fixed threshold returns them: 160 MiB.
echo "== hostile corpus ($profile), MALLOC_MMAP_THRESHOLD_=1048576"
MALLOC_MMAP_THRESHOLD_=1048576 run hostile_corpus_peak_memory_alone_and_eight_at_once
