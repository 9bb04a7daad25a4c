#!/usr/bin/env bash
# Send triggers to flow-dispatcher ingest and read their status, with curl and bash only.
#
#   INGEST_URL=http://127.0.0.1:8080 INGEST_TOKEN=... FLOW=Welcome_SMS \
#     ./send_triggers.sh [--wait] INDIVIDUAL_ID...
#
# Each trigger gets an idempotency key (KEY_PREFIX-IndividualId), so resending the same request
# never stores a trigger twice. 429 (BACKLOG_FULL) and 503 (REDIS_UNAVAILABLE, WRITE_FAILED,
# SHUTTING_DOWN) are retried after Retry-After seconds with the same body, hence the same keys;
# other errors stop with their code. The contract is docs/openapi.json. Output lines as the Python
# example: "retry <status> <code> after <s>s", "accepted <id> key=<key> duplicate=<bool>",
# "status <id> <state>", "error <status> <code>: <message>" (exit 1).
set -euo pipefail

BASE="${INGEST_URL:-http://127.0.0.1:8080}"
BASE="${BASE%/}"
FLOW="${FLOW:-Welcome_SMS}"
KEY_PREFIX="${KEY_PREFIX:-example}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-30}"
WAIT=false
people=()
for arg in "$@"; do
  if [[ "$arg" == "--wait" ]]; then WAIT=true; else people+=("$arg"); fi
done
if [[ ${#people[@]} -eq 0 || -z "${INGEST_TOKEN:-}" ]]; then
  echo "usage: INGEST_TOKEN=... send_triggers.sh [--wait] INDIVIDUAL_ID..." >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# One field of a flat JSON answer (enough for these answers; use jq where you have it).
field() { grep -o "\"$1\":\"[^\"]*\"" "$2" | head -n 1 | sed 's/^"[^"]*":"//; s/"$//' || true; }

# request METHOD PATH [BODY]: retries 429/503 after Retry-After with the same body; leaves the
# answer in $tmp/body and its status in $status.
request() {
  local method="$1" path="$2" body="${3:-}" attempt wait code
  for ((attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)); do
    local args=(-sS -X "$method" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}'
      -H "authorization: Bearer $INGEST_TOKEN")
    if [[ -n "$body" ]]; then args+=(-H 'content-type: application/json' --data-binary "$body"); fi
    if ! status="$(curl "${args[@]}" "$BASE$path")"; then
      wait=$((attempt < 4 ? 2 ** attempt : 10))
      echo "retry unreachable curl after ${wait}s"
      sleep "$wait"
      continue
    fi
    if [[ "$status" != 429 && "$status" != 503 ]]; then return 0; fi
    code="$(field code "$tmp/body")"
    wait="$(tr -d '\r' <"$tmp/headers" | sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' | head -n 1)"
    wait="${wait:-1}"
    if ((wait > 30)); then wait=30; fi
    echo "retry $status ${code:-?} after ${wait}s"
    sleep "$wait"
  done
  echo "error giving up after $MAX_ATTEMPTS attempts"
  exit 1
}

fail() {
  echo "error $status $(field code "$tmp/body"): $(field message "$tmp/body")"
  exit 1
}

triggers=""
for person in "${people[@]}"; do
  triggers+="${triggers:+,}{\"input\":{\"IndividualId\":\"$person\"},\"key\":\"$KEY_PREFIX-$person\"}"
done
request POST "/v1/flows/$FLOW/triggers" "{\"triggers\":[$triggers]}"
[[ "$status" == 202 ]] || fail

# {"accepted":[{"id":"…","key":"…","duplicate":false},…]}: one receipt per object.
ids=()
while IFS= read -r receipt; do
  id="$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$receipt")"
  key="$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' <<<"$receipt")"
  duplicate="$(sed -n 's/.*"duplicate":\(true\|false\).*/\1/p' <<<"$receipt")"
  ids+=("$id")
  echo "accepted $id key=$key duplicate=$duplicate"
done < <(grep -o '{"id":[^}]*}' "$tmp/body")

deadline=$((SECONDS + 60))
for id in "${ids[@]}"; do
  while true; do
    request GET "/v1/triggers/$id"
    [[ "$status" == 200 ]] || fail
    state="$(field state "$tmp/body")"
    if [[ "$WAIT" != true || "$state" == succeeded || "$state" == dead || $SECONDS -gt $deadline ]]; then
      break
    fi
    sleep 0.5
  done
  echo "status $id $state"
done
