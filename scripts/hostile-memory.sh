#!/usr/bin/env bash
# Peak memory (maximum resident set size) of the hostile-image tests: the photo module's unit
# tests (bombs, huge PNGs, forged JPEG headers, EXIF, tails) and the HTTP suite that uploads
# every hostile file to a live server, each against a baseline test of the same binary.
# Needs GNU time (/usr/bin/time, Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
peak() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {printf "%.1f MB\n", $2 / 1024}'; }
lib=$(cargo test --lib --no-run 2>&1 | grep -o 'target/debug/deps/elicence-[a-z0-9]*' | head -n1)
api=$(cargo test --test api --no-run 2>&1 | grep -o 'target/debug/deps/api-[a-z0-9]*' | head -n1)
echo "photo unit tests (src/photo):                $(peak "$lib" photo --test-threads 1)"
echo "HTTP hostile uploads (server in process):    $(peak "$api" sqlite::hostile_uploads_are_refused_or_defused --test-threads 1)"
echo "HTTP baseline (role checks, same binary):    $(peak "$api" sqlite::roles_keep_reviewers_and_holders_apart --test-threads 1)"
