#!/usr/bin/env python3
"""Send triggers to flow-dispatcher ingest and read their status (Python 3.8+, standard library only).

    INGEST_URL=http://127.0.0.1:8080 INGEST_TOKEN=... FLOW=Welcome_SMS \
        python3 send_triggers.py [--wait] INDIVIDUAL_ID...

Each trigger gets an idempotency key (KEY_PREFIX + "-" + IndividualId), so resending the same
request can never store a trigger twice. 429 (BACKLOG_FULL) and 503 (REDIS_UNAVAILABLE,
WRITE_FAILED, SHUTTING_DOWN) are retried after Retry-After seconds with the same body, hence the
same keys; other errors stop with their code. The contract is docs/openapi.json.

Output, one line each: "retry <status> <code> after <s>s", "accepted <id> key=<key> duplicate=<bool>",
"status <id> <state>", or "error <status> <code>: <message>" (exit 1).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = os.environ.get("INGEST_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("INGEST_TOKEN", "")
FLOW = os.environ.get("FLOW", "Welcome_SMS")
KEY_PREFIX = os.environ.get("KEY_PREFIX", "example")
MAX_ATTEMPTS = int(os.environ.get("MAX_ATTEMPTS", "30"))
RETRYABLE = {429, 503}


def call(method, path, body=None):
    """One request: (status, headers, parsed JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("authorization", "Bearer " + TOKEN)
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return err.code, err.headers, parsed


def with_retries(method, path, body=None):
    """Retries 429/503 after Retry-After (and unreachable ingest after a backoff), same body."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            status, headers, parsed = call(method, path, body)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            wait = min(2 ** attempt, 10)
            print(f"retry unreachable {type(err).__name__} after {wait}s", flush=True)
            time.sleep(wait)
            continue
        if status not in RETRYABLE:
            return status, parsed
        code = ((parsed or {}).get("error") or {}).get("code", "?")
        wait = min(int(headers.get("retry-after") or "1"), 30)
        print(f"retry {status} {code} after {wait}s", flush=True)
        time.sleep(wait)
    print(f"error giving up after {MAX_ATTEMPTS} attempts", flush=True)
    sys.exit(1)


def fail(status, parsed):
    error = (parsed or {}).get("error") or {}
    print(f"error {status} {error.get('code', '?')}: {error.get('message', '')}", flush=True)
    sys.exit(1)


def main(argv):
    wait = "--wait" in argv
    people = [arg for arg in argv if arg != "--wait"]
    if not people or not TOKEN:
        print("usage: INGEST_TOKEN=... send_triggers.py [--wait] INDIVIDUAL_ID...", file=sys.stderr)
        return 2
    triggers = [
        {"input": {"IndividualId": person}, "key": f"{KEY_PREFIX}-{person}"} for person in people
    ]
    status, parsed = with_retries("POST", f"/v1/flows/{FLOW}/triggers", {"triggers": triggers})
    if status != 202:
        fail(status, parsed)
    ids = []
    for receipt in parsed["accepted"]:
        ids.append(receipt["id"])
        duplicate = "true" if receipt["duplicate"] else "false"
        print(f"accepted {receipt['id']} key={receipt['key']} duplicate={duplicate}", flush=True)

    deadline = time.monotonic() + 60
    for trigger_id in ids:
        while True:
            status, parsed = with_retries("GET", f"/v1/triggers/{trigger_id}")
            if status != 200:
                fail(status, parsed)
            done = parsed["state"] in ("succeeded", "dead")
            if not wait or done or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        print(f"status {trigger_id} {parsed['state']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
