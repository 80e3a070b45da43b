#!/usr/bin/env bash
# The API conformance pass (docs/api-conformance.md): the OpenAPI document the server serves
# must describe every answer it gives, and pass a stock linter.
#
#   1. builds the server (debug by default: `cargo test` built it already; --release to build
#      and test the release binary instead),
#   2. starts `serve --demo` on a temporary SQLite file and keys folder, on a free local port,
#      and reads the tokens it prints (one per role; a partner token is made with `token create`),
#   3. seeds the states the operations answer from, then runs a pinned schemathesis (in a venv
#      under the cargo target dir, from scripts/api-conformance/requirements.txt) once per
#      token, with every check and a bounded number of examples per operation,
#   4. lints the document with a pinned Redocly CLI and its `recommended` rules.
# Any finding fails the script: a schemathesis failure or warning about the document, a linter
# error or warning (the exceptions, with their reasons, are in scripts/api-conformance/).
# Needs python3 (with venv), Node.js 20+ and npm; reaches PyPI and npm once to install the
# pinned tools. Traffic stays on 127.0.0.1.
#
# Usage: scripts/api-conformance.sh [--release] [--keep]
#   API_CONFORMANCE_EXAMPLES  examples per operation and phase (default 20)
#   API_CONFORMANCE_SEED      schemathesis seed (default 20261202: a failure replays the same)
#   API_CONFORMANCE_ROLES     the tokens to run with, in order (default: all nine, see below)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
REDOCLY_VERSION=2.77.0
# 20: the whole step took 3.4 min in a .ci/run on the shared 2-core machine, under the
# 5 min this step may take (docs/api-conformance.md, "Figures").
examples="${API_CONFORMANCE_EXAMPLES:-20}"
seed="${API_CONFORMANCE_SEED:-20261202}"
roles="${API_CONFORMANCE_ROLES:-holder applicant barred superseded reviewer officer clerk partner admin}"
profile=debug
keep=false
for arg in "$@"; do
    case "$arg" in
        --release) profile=release ;;
        --keep) keep=true ;;
        *) echo "usage: $0 [--release] [--keep]" >&2; exit 2 ;;
    esac
done
config_dir="$PWD/scripts/api-conformance"
target="${CARGO_TARGET_DIR:-$PWD/target}"
tools="$target/api-conformance"
work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if $keep; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== build ($profile)"
if [ "$profile" = release ]; then cargo build --locked --release --quiet; else cargo build --locked --quiet; fi
bin="$target/$profile/elicence"

echo "== schemathesis $SCHEMATHESIS_VERSION"
venv="$tools/venv"
# The venv is made anew whenever the pinned requirements change.
if ! cmp -s "$config_dir/requirements.txt" "$venv/requirements.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$config_dir/requirements.txt"
    cp "$config_dir/requirements.txt" "$venv/requirements.txt"
fi
"$venv/bin/schemathesis" --version | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION" ||
    { echo "requirements.txt does not pin schemathesis $SCHEMATHESIS_VERSION" >&2; exit 1; }
"$venv/bin/schemathesis" --version

echo "== demo server"
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
db="sqlite://$work/elicence.db"
RUST_LOG=warn "$bin" --database-url "$db" serve --demo --bind "127.0.0.1:$port" \
    --keys-dir "$work/keys" > "$work/serve.out" 2> "$work/serve.err" &
server=$!
deadline=$((SECONDS + 120))
until grep -q '^  clerk ' "$work/serve.out" 2>/dev/null && curl -fs "$base/readyz" >/dev/null; do
    if ! kill -0 "$server" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
        echo "the demo server did not start:" >&2; cat "$work/serve.err" >&2; exit 1
    fi
    sleep 0.2
done
# `serve --demo` prints each token under a line that names its role and, for a holder, the
# licence: "  holder    demo holder 110101199001010111 张伟 [C1] eligible".
token_of() { awk -v role="$1" '$1 == role { getline; print $1; exit }' "$work/serve.out"; }
holder_token() { awk -v who="$1" '$1 == "holder" && index($0, who) { getline; print $1; exit }' "$work/serve.out"; }
declare -A tokens=(
    [holder]=$(holder_token 张伟)         # eligible, photo on file: gets an e-licence below
    [applicant]=$(holder_token 李娜)      # eligible, no photo: uploads one below
    [barred]=$(holder_token 王芳)         # expired, suspended, 12 points: every reason
    [superseded]=$(holder_token 陈静)     # gets an e-licence, then a class change ends it
    [reviewer]=$(token_of reviewer)
    [officer]=$(token_of officer)
    [clerk]=$(token_of clerk)             # 北京市公安局公安交通管理局, as 张伟's licence
    [admin]=$(token_of admin)
    [partner]=$(RUST_LOG=warn "$bin" --database-url "$db" token create --role partner \
        --purpose rental --label api-conformance 2>/dev/null)
)
for role in "${!tokens[@]}"; do
    if [ -z "${tokens[$role]}" ]; then echo "no $role token in the demo output" >&2; exit 1; fi
done
echo "serving $base"

# The states the operations answer from, so that their answers are seen and checked, not
# only their 404s: a current e-licence (张伟), a superseded one (陈静), a photo waiting for
# review (李娜), a verification and a counter look-up in the audits.
expect() { # STATUS CURL-ARGS…: one request that must answer STATUS; prints the body
    local status="$1"; shift
    local got
    got=$(curl -s -o "$work/answer.json" -w '%{http_code}' "$@")
    if [ "$got" != "$status" ]; then
        echo "seeding the demo: $* answered $got, not $status:" >&2; cat "$work/answer.json" >&2; exit 1
    fi
    cat "$work/answer.json"
}
auth() { echo "Authorization: Bearer ${tokens[$1]}"; }
json='Content-Type: application/json'
code=$(expect 201 -X POST -H "$(auth holder)" -H "$json" -d '{"photo":"on_file"}' "$base/api/v1/me/e-licence" |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["display"]["code"])')
expect 201 -X POST -H "$(auth superseded)" -H "$json" -d '{"photo":"on_file"}' "$base/api/v1/me/e-licence" >/dev/null
expect 200 -X POST -H "$(auth admin)" -H "$json" -d '{"type":"classes_changed","classes":["C1"]}' \
    "$base/api/v1/admin/licences/330106199509092085/events" >/dev/null
# A portrait that passes the photo checks: 张伟's photo on file, from the demo registry.
"$venv/bin/python" - demo/registry.ndjson "$work/portrait.jpg" <<'PY'
import base64, json, sys
first = json.loads(open(sys.argv[1], encoding="utf-8").readline())
open(sys.argv[2], "wb").write(base64.b64decode(first["photo"]))
PY
expect 202 -X POST -H "$(auth applicant)" -F source=camera -F "photo=@$work/portrait.jpg;type=image/jpeg" \
    "$base/api/v1/me/e-licence" >/dev/null
expect 200 -X POST -H "$(auth officer)" -H "$json" -d "{\"code\":\"$code\"}" "$base/api/v1/verify" >/dev/null
expect 200 -H "$(auth clerk)" "$base/api/v1/counter/licences/110101199001010111" >/dev/null

# Operations that change the demo state (issue, decide, events…) run too: every answer they
# give, in whatever state the earlier runs left, must be documented. The admin runs last, so
# that the audits it reads have rows.
failed=0
for role in $roles; do
    token="${tokens[$role]:-}"
    if [ -z "$token" ]; then echo "unknown role $role" >&2; exit 2; fi
    echo "== schemathesis as $role ($examples examples an operation, seed $seed; ${SECONDS}s so far)"
    # From the temporary folder: schemathesis keeps a cache of what it found in `.schemathesis`
    # under the folder it runs in.
    if ! (cd "$work" && "$venv/bin/schemathesis" --config-file "$config_dir/schemathesis.toml" run \
        "$base/api/v1/openapi.json" --url "$base" \
        -H "Authorization: Bearer $token" \
        --checks all --max-examples "$examples" --seed "$seed" \
        --no-color --report junit --report-dir "$work/reports/$role" > "$work/$role.txt" 2>&1); then
        failed=1
        cat "$work/$role.txt"
    else
        sed -n '/SUMMARY/,$p' "$work/$role.txt"
    fi
done

echo "== Redocly CLI $REDOCLY_VERSION lint (recommended rules; ${SECONDS}s so far)"
curl -fs "$base/api/v1/openapi.json" | "$venv/bin/python" -m json.tool > "$work/openapi.json"
# The ignore file names, with the reason, the few places where a recommended rule does not
# apply; it must sit beside the linted file.
cp "$config_dir/redocly.yaml" "$config_dir/.redocly.lint-ignore.yaml" "$work/"
if ! (cd "$work" && npx --yes "@redocly/cli@$REDOCLY_VERSION" lint openapi.json \
        --format json > lint.json 2> lint.err); then
    : # the exit code says errors only; the counts below also catch warnings
fi
if ! "$venv/bin/python" - "$work/lint.json" <<'PY'; then
import json, sys
report = json.load(open(sys.argv[1]))
totals = report["totals"]
for p in report["problems"]:
    where = p["location"][0]["pointer"] if p.get("location") else ""
    print(f'{p["severity"]}: {p["ruleId"]}: {p["message"]} at {where}')
print(f'{totals["errors"]} errors, {totals["warnings"]} warnings, {totals["ignored"]} ignored')
sys.exit(1 if totals["errors"] or totals["warnings"] else 0)
PY
    failed=1
    cat "$work/lint.err" >&2
fi

if [ "$failed" -ne 0 ]; then
    echo "API conformance: FAILED after ${SECONDS}s (see above; --keep keeps the reports)" >&2
    exit 1
fi
echo "API conformance: the document matches every answer seen and passes the linter (${SECONDS}s)"
