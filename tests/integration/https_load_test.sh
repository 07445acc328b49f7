#!/usr/bin/env bash
# The HTTPS side under hostile and heavy load (tests/integration/https_load.py
# drives it; loopback only, bounded in time):
#   - 1,000 idle TCP connections held open (no TLS handshake): REST calls and
#     the dashboard still answer within 200 ms p95;
#   - oversized and unauthenticated bodies are refused before they are read
#     (413/401, JSON errors), and the farm's memory does not grow with them;
#   - invalid UTF-8, deeply nested or truncated JSON, huge headers, a wrong
#     method or path: 4xx with a JSON error body; headers that never end are
#     cut off at the header deadline;
#   - 300 /events/changes streams open at once all receive a change, and an
#     ordinary request is still answered meanwhile.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
ulimit -n "$(ulimit -Hn)"  # the client side holds 1,000+ connections too

start_farm || { echo "cannot start the dev farm"; exit 1; }
LOAD=("python3" "$SRC_DIR/tests/integration/https_load.py")
export HTTPS_PORT=$(jq -r .http_port "$FARM/ready.json") CA=$FARM/ca/ca.crt
export CERT=$FARM/users/alice/client.crt KEY=$FARM/users/alice/client.key
PID=$(cat "$FARM/farmserver.pid")
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
figure() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }

# --- many idle connections ---------------------------------------------------------
run "${LOAD[@]}" idle 1000
echo "$out"
check "1,000 idle connections were held open while the calls were timed" test "$(figure idle_still_open)" = 1000
check "REST p95 with them open is under 200 ms ($(figure p95_ms_api_with) ms; $(figure p95_ms_api_without) without)" \
  awk -v v="$(figure p95_ms_api_with)" 'BEGIN {exit !(v < 200)}'
check "dashboard p95 with them open is under 200 ms ($(figure p95_ms_page_with) ms)" \
  awk -v v="$(figure p95_ms_page_with)" 'BEGIN {exit !(v < 200)}'

# --- bodies and malformed input ------------------------------------------------------
before=$(rss_kib)
run "${LOAD[@]}" refuse
echo "$out"
after=$(rss_kib)
check "a 100 MiB body for the REST gateway is refused unread (413, JSON)" contains "$out" "oversized_gateway 413 RESOURCE_EXHAUSTED"
check "a 1 MiB body for /logout is over its small limit (413)" contains "$out" "oversized_logout 413 RESOURCE_EXHAUSTED"
check "8 concurrent unauthenticated 100 MiB bodies are all refused unread" \
  test "$(grep -c '^unauthenticated_100mb_[0-7] 413 RESOURCE_EXHAUSTED' <<<"$out")" = 8
check "... and the farm's memory grew by less than 8 MiB ($(( (after - before) / 1024 )) MiB)" \
  test $((after - before)) -lt 8192
check "an unauthenticated 3 MiB body (under the limit) is refused before it is sent (401)" \
  contains "$out" "unauthenticated_3mb 401 UNAUTHENTICATED"
check "an unauthenticated small body is refused from the headers (401, JSON)" contains "$out" "unauthenticated_small 401 UNAUTHENTICATED"
check "invalid UTF-8 in a JSON body is a 400 with a JSON error" contains "$out" "invalid_utf8 400 INVALID_ARGUMENT"
check "100,000 levels of nested JSON are a 400 with a JSON error" contains "$out" "nested_json 400 INVALID_ARGUMENT"
check "truncated JSON is a 400 with a JSON error" contains "$out" "truncated_json 400 INVALID_ARGUMENT"
check "40 KB of headers are refused (431)" contains "$out" "huge_header 431"
check "a method a path does not serve is a 405" contains "$out" "wrong_method 405"
check "an unknown path is a 404 with a JSON error" contains "$out" "unknown_path 404 NOT_FOUND"
cut=$(figure slow_headers_cut_after_s)
check "headers trickled in forever are cut off at the header deadline ($cut s)" \
  awk -v v="$cut" 'BEGIN {exit !(v >= 10 && v < 25)}'
check "the farm logged the refusals" grep -q '"event":"https_refused".*"status":413' "$FARM/farmserver.log"
run curl -sS -D - -o /dev/null --cacert "$CA" -H 'Content-Type: application/json' -d $'{"id":"\xff"}' \
  --cert "$CERT" --key "$KEY" "https://localhost:$HTTPS_PORT/api/v1/Builds/GetBuild"
check "nothing internal leaks into a refusal's headers" bash -c '! grep -qi "exception" <<<"$0"' "$out"
run curl -sS -I --cacert "$CA" --cert "$CERT" --key "$KEY" "https://localhost:$HTTPS_PORT/healthz"
check "HEAD answers GET's status and length without the body" \
  bash -c 'grep -q "^HTTP/1.1 200" <<<"$0" && grep -qi "^content-length: [1-9]" <<<"$0"' "$out"

# --- 300 live pages ----------------------------------------------------------------------
UP=$TMP/upstream
sample_upstream "$UP"
g clone -q --bare "$UP" "$TMP/up.git"
as_user admin "$CIFS" admin repo add sample --url "file://$TMP/up.git" >/dev/null
"${LOAD[@]}" streams 300 >"$TMP/streams.out" 2>&1 &
wait_until 90 grep -q '^ready' "$TMP/streams.out"
cat "$TMP/streams.out"
out=$(cat "$TMP/streams.out")
check "300 event streams are open at once" test "$(figure streams_open)" = 300
check "... and an ordinary request is answered meanwhile" test "$(figure ordinary_request_status)" = 200
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
wait
out=$(cat "$TMP/streams.out")
check "every one of the 300 streams received the change" test "$(figure streams_changed)" = 300
finish
