"""Applies for an e-licence (photo on file) for every holder token in TOKENS and writes each
display code's QR text to CODES, one a line. Generated registries hold some licences that may
not drive (422 not_eligible): they are skipped and counted. Used by the load scripts.
Usage: issue_e_licences.py BASE_URL TOKENS CODES"""
import http.client
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

base, tokens_path, codes_path = sys.argv[1:4]
target = urlparse(base)
tokens = [t.strip() for t in open(tokens_path) if t.strip()]


def issue(chunk):
    conn = http.client.HTTPConnection(target.hostname, target.port)
    codes = []
    for token in chunk:
        conn.request("POST", "/api/v1/me/e-licence", body=json.dumps({"photo": "on_file"}),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        res = conn.getresponse()
        body = res.read()
        if res.status == 422:
            continue
        if res.status not in (200, 201):
            raise SystemExit(f"issuance answered {res.status}: {body[:200]!r}")
        codes.append(json.loads(body)["display"]["code"])
    return codes


chunks = [tokens[i::8] for i in range(8)]
with ThreadPoolExecutor(8) as pool:
    codes = [c for part in pool.map(issue, chunks) for c in part]
with open(codes_path, "w") as out:
    out.write("\n".join(codes) + "\n")
print(f"issued {len(codes)} e-licences ({len(tokens) - len(codes)} licences not eligible)", file=sys.stderr)
