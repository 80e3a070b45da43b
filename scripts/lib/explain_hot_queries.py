"""Reads the statements one database ran from the PostgreSQL server log, window by window, and
explains each distinct one with the parameters it was logged with. Used by
scripts/explain-hot-queries.sh, which turns on `log_min_duration_statement = 0` for that
database alone, sends a few requests per route and notes the log's size around each route.

Usage: explain_hot_queries.py LOG DB_NAME DB_URL REQUESTS_FILE NAME:START:END…
  LOG            the server log (stderr format, log_line_prefix '%m [%p] %q%u@%d ')
  DB_NAME        only entries of this database are read (the log is the cluster's)
  DB_URL         where to run EXPLAIN (psql)
  REQUESTS_FILE  lines `NAME<TAB>what was sent<TAB>answers`: printed under each window
  NAME:START:END a window of the log in bytes; the window named `background` is the server
                 idle (status-list pass, key reload): its statements are marked in the others

Writes Markdown on standard output: a summary, the findings (a Seq Scan on a table that
grows with the drivers), then per window each distinct statement, how often it ran, and its
plan. Reads: EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) of the prepared statement
executed with the logged parameters (the custom plan PostgreSQL makes for the first
executions), and the generic plan (what a cached prepared statement may switch to after five
executions) when its shape differs. Writes run the same way inside a transaction that is
rolled back. No third-party module: psql does the talking."""
import re
import subprocess
import sys

# Tables that grow with the drivers, their e-licences or their traffic: a Seq Scan on one of
# them is a finding. The small ones (status_lists, signing_keys, storage_probe) are not.
GROWING = {
    "licences", "e_licences", "api_tokens", "barcode_tokens", "verification_audit",
    "registry_events", "notifications", "photo_store", "photo_submissions", "review_audit",
    "counter_audit",
}
# Statements that plan nothing: counted, not explained.
CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|SET|LOCK|SHOW|DISCARD|DEALLOCATE)\b", re.I)

log_path, db_name, db_url, requests_path, *window_args = sys.argv[1:]
# A log entry starts with the prefix; continuation lines of a multi-line statement start with a
# tab (PostgreSQL's stderr format).
ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\] (\S*)@(\S*) (\w+):  (.*)$")
EXECUTED = re.compile(r"^duration: [\d.]+ ms  (?:execute [^:]*|statement): (.*)$", re.S)


def read_window(start, end):
    """[(pid, statement, parameters or None)] of DB_NAME's executed statements in the window."""
    with open(log_path, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8", "replace")
    entries = []  # [pid, level, message], continuation lines appended
    for line in text.split("\n"):
        m = ENTRY.match(line)
        if m:
            pid, _user, db, level, message = m.groups()
            entries.append([pid, level, message, db == db_name])
        elif line.startswith("\t") and entries:
            entries[-1][2] += "\n" + line[1:]
    executed, last_by_pid = [], {}
    for pid, level, message, ours in entries:
        if not ours:
            continue
        if level == "LOG":
            m = EXECUTED.match(message)
            if m:
                executed.append([pid, m.group(1).strip(), None])
                last_by_pid[pid] = executed[-1]
            else:
                last_by_pid.pop(pid, None)  # a parse or bind line: its DETAIL is not ours
        elif level == "DETAIL" and message.startswith("parameters: ") and pid in last_by_pid:
            last_by_pid.pop(pid)[2] = parse_parameters(message[len("parameters: "):])
    return executed


def parse_parameters(text):
    """`$1 = 'a''b', $2 = NULL` → ["'a''b'", "NULL"], each an SQL literal as logged."""
    values, i = {}, 0
    pattern = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')(?:, |$)", re.S)
    while i < len(text):
        m = pattern.match(text, i)
        if not m:
            break
        values[int(m.group(1))] = m.group(2)
        i = m.end()
    return [values[k] for k in sorted(values)]


def shape(sql):
    """The statement with its placeholders and repeated VALUES rows folded: one key for the
    same query whatever the batch size."""
    key = re.sub(r"\$\d+", "$", " ".join(sql.split()))
    key = re.sub(r"(\((?:\$, )*\$\))(?:, \((?:\$, )*\$\))+", r"\1, …", key)
    return re.sub(r"IN \((?:\$, )+\$\)", "IN ($, …)", key)


def short(sql, limit=220):
    """One line, without identifier quotes and long select lists, for the report's headings."""
    s = " ".join(sql.replace('"', "").split())
    m = re.match(r"(?is)^(SELECT\s+(?:DISTINCT\s+)?)(.*?)(\s+FROM\s.*)$", s)
    if m and len(m.group(2)) > 50:
        s = m.group(1) + "…" + m.group(3)
    s = re.sub(r"\b(\w+)\.(\w+)\b", lambda m: m.group(2) if not m.group(1).isdigit() else m.group(0), s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def psql(script):
    """Runs SCRIPT in one session; (ok, output). Errors do not stop it: the output says."""
    run = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", db_url],
                         input=script, capture_output=True, text=True)
    return run.returncode == 0, (run.stdout + run.stderr).strip()


def explain(sql, params):
    """(how, plan text, generic plan text or None, error or None)."""
    args = "(" + ", ".join(params) + ")" if params else ""
    prepared = f"PREPARE q AS {sql};\n"
    analyze = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) "
    # Custom plan, run: inside a transaction rolled back, so writes leave nothing.
    ok, out = psql(f"BEGIN;\n{prepared}{analyze}EXECUTE q{args};\nROLLBACK;\n")
    how = "EXPLAIN ANALYZE, the logged parameters, rolled back"
    if not ok:
        # A write that fails when run again (a key already taken): its plan, not run.
        first_error = out.splitlines()[-1] if out else "error"
        ok, out = psql(f"BEGIN;\n{prepared}EXPLAIN (COSTS OFF) EXECUTE q{args};\nROLLBACK;\n")
        how = f"EXPLAIN without ANALYZE (running it failed: {first_error})"
        if not ok:
            return how, None, None, out
    ok_g, generic = psql("BEGIN;\nSET LOCAL plan_cache_mode = force_generic_plan;\n"
                         f"{prepared}EXPLAIN (COSTS OFF) EXECUTE q{args};\nROLLBACK;\n")
    return how, out, generic if ok_g else None, None


def without_seq_scan(sql, params):
    """The plan when sequential scans are priced out: an index that can serve the query shows."""
    args = "(" + ", ".join(params) + ")" if params else ""
    ok, out = psql("BEGIN;\nSET LOCAL enable_seqscan = off;\n"
                   f"PREPARE q AS {sql};\nEXPLAIN (COSTS OFF) EXECUTE q{args};\nROLLBACK;\n")
    return out


def nodes(plan):
    """The plan's node lines without run-time figures: to compare a custom and a generic plan."""
    out = []
    for line in (plan or "").splitlines():
        if "->" in line or (line and not line.startswith(" ")):
            out.append(re.sub(r"\s*\(actual[^)]*\)", "", line).strip())
    return [n for n in out if not n.startswith(("Planning", "Execution", "Buffers"))]


def seq_scans(plan):
    return sorted({t for t in re.findall(r"Seq Scan on (\w+)", plan or "") if t in GROWING})


windows = []
for arg in window_args:
    name, start, end = arg.rsplit(":", 2)
    windows.append((name, read_window(int(start), int(end))))
sent = {}
for line in open(requests_path):
    name, what, answers = line.rstrip("\n").split("\t")
    sent.setdefault(name, []).append((what, answers))

background = {}  # shape → its number in the background window
for name, executed in windows:
    if name == "background":
        for _pid, sql, _params in executed:
            if not CONTROL.match(sql):
                background.setdefault(shape(sql), len(background) + 1)
explained = {}  # shape → (how, plan, generic, error)
sections, findings, summary = [], [], []
for name, executed in windows:
    distinct, counts, control = {}, {}, {}
    for _pid, sql, params in executed:
        if CONTROL.match(sql):
            word = sql.split()[0].upper()
            control[word] = control.get(word, 0) + 1
            continue
        key = shape(sql)
        counts[key] = counts.get(key, 0) + 1
        distinct.setdefault(key, (sql, params or []))
    lines = [f"## {name}", ""]
    answers_sent = 0
    for what, answers in sent.get(name, []):
        answers_sent += len(answers.split())
        lines.append(f"Sent: {what}" + (f"; answers: {answers.strip()}." if answers.strip() else "."))
    lines.append("")
    # The idle server's statements (the pool's check-out test, the status-list pass) run in
    # every window: named here, explained once under background.
    shared = [(k, counts[k]) for k in distinct if name != "background" and k in background]
    if shared:
        lines += ["Statements of the idle server also seen in this window (explained under background): "
                  + ", ".join(f"`{short(distinct[k][0], 60)}` ×{n} (background {background[k]})" for k, n in shared)
                  + ".", ""]
    flagged_here, i = 0, 0
    for key, (sql, params) in distinct.items():
        if name != "background" and key in background:
            continue
        i += 1
        lines.append(f"### {name} {i}: `{short(sql)}`")
        lines.append("")
        lines.append(f"Ran {counts[key]}× in the window.")
        lines.append("")
        if key not in explained:
            explained[key] = explain(sql, params)
        how, plan, generic, error = explained[key]
        if error:
            lines += [f"Not explained: `{error.splitlines()[-1]}`", ""]
        else:
            scans = sorted(set(seq_scans(plan)) | set(seq_scans(generic)))
            if scans:
                flagged_here += 1
                forced = without_seq_scan(sql, params)
                kept = seq_scans(forced)
                findings.append((name, i, sql, scans, plan, kept))
                lines.append(f"**Seq Scan on {', '.join(scans)}** (a table that grows).")
                lines.append("")
                lines += ["With `enable_seqscan = off` (can an index serve it when the table is large?):", "",
                          "```text", forced, "```", ""]
            lines += [f"{how}:", "", "```text", plan, "```", ""]
            if generic and nodes(generic) != nodes(plan):
                lines += ["Generic plan (after five executions a cached statement may use it):", "",
                          "```text", generic, "```", ""]
        shown = ", ".join(f"${k} = {v if len(v) <= 60 else v[:57] + '…'}" for k, v in enumerate(params, 1))
        lines += ["<details><summary>statement as logged</summary>", "", "```sql", sql, "```", ""]
        if shown:
            lines += ["Parameters: `" + shown.replace("`", "'") + "`", ""]
        lines += ["</details>", ""]
    if control:
        lines += ["Transaction control: " + ", ".join(f"{w} ×{n}" for w, n in sorted(control.items())) + ".", ""]
    if not distinct:
        lines += ["No statement: the answer came from the process's memory.", ""]
    summary.append((name, answers_sent, len(distinct), sum(counts.values()), sum(control.values()), flagged_here))
    sections.append("\n".join(lines))

print("| window | requests | distinct statements | executions (transaction control apart) | BEGIN/COMMIT… | Seq Scan on a growing table |")
print("|---|---|---|---|---|---|")
for name, r, d, n, c, f in summary:
    print(f"| {name} | {r or '-'} | {d} | {n} | {c} | {f or 'none'} |")
print()
print("## Findings")
print()
if not findings:
    print("Every statement reads and writes the growing tables by index: no Seq Scan on them, "
          "custom or generic plan.")
for name, i, sql, scans, plan, kept in findings:
    which = "custom plan" if seq_scans(plan) else "generic plan only"
    verdict = (f"**no index serves it**: still a Seq Scan on {', '.join(kept)} with `enable_seqscan = off`"
               if kept else "an index serves it (`enable_seqscan = off` uses one): the planner's choice on a "
               "table small in this database")
    print(f"- **{name} {i}** ({which}), Seq Scan on {', '.join(scans)}; {verdict}: `{short(sql, 400)}`")
print()
print("\n".join(sections))
