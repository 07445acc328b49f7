#!/usr/bin/env bash
# The web side: the REST API (every method refuses a caller without an
# identity, and one without the role, with a JSON error that says why; cookie
# callers need the CSRF token) and the web UI in Debian's headless Chromium
# driven by playwright-core (tests/browser/web_test.mjs): lee signs in with a
# `cifs web login` link, watches a running farm build's progress bar and log
# advance live, approves a PR; bob finds no approve button and is refused when
# he forces the request; build output with <script> stays text; lee reads a
# PR's files changed and comments on a line. The REST API's real answers are
# checked against its OpenAPI document (tests/browser/api_contract.mjs).
# Screenshots go to $CIFS_ARTIFACTS_DIR (default BUILD_DIR/test-artifacts)/web.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
ARTIFACTS=${CIFS_ARTIFACTS_DIR:-$BUILD_DIR/test-artifacts}/web
mkdir -p "$ARTIFACTS"

if [[ ! -x /usr/bin/chromium ]]; then echo "FAIL - /usr/bin/chromium is missing (scripts/install-deps)"; exit 1; fi
if [[ ! -d $SRC_DIR/tests/browser/node_modules/playwright-core ]]; then
  (cd "$SRC_DIR/tests/browser" && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL - npm ci"; exit 1; }
fi

start_farm || { echo "cannot start the dev farm"; exit 1; }
before_teardown() { jobs -p | xargs -r kill 2>/dev/null || true; }
WEB=$(jq -r '"https://localhost:\(.http_port)"' "$FARM/ready.json")
CA=$FARM/ca/ca.crt

# A workspace whose ticker test prints a line every half second, in colour,
# with markup in it.
UP=$TMP/upstream
mkdir -p "$UP" && cp -r "$SRC_DIR/tests/data/sample_ws/." "$UP/"
cat >"$UP/app/ticker_test.sh" <<'EOF'
#!/bin/sh
echo '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
for i in $(seq 1 16); do printf '\033[32mtick %d\033[0m\n' "$i"; sleep 0.5; done
EOF
chmod +x "$UP/app/ticker_test.sh"
printf '\nsh_test(name = "ticker_test", srcs = ["ticker_test.sh"], tags = ["manual"])\n' >>"$UP/app/BUILD"
g init -q -b main "$UP" && g -C "$UP" add -A && g -C "$UP" commit -q -m sample
g clone -q --bare "$UP" "$TMP/up.git"
as_user admin "$CIFS" admin repo add sample --url "file://$TMP/up.git" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
as_user admin "$CIFS" admin workspace create alice-pr --owner alice --repo sample >/dev/null

# --- REST -------------------------------------------------------------------------
curl_as() {  # curl_as USER|- METHOD_PATH [BODY]: prints the HTTP status, then the body
  local who=$1 path=$2 body=${3:-'{}'} auth=()
  [[ $who != - ]] && auth=(--cert "$FARM/users/$who/client.crt" --key "$FARM/users/$who/client.key")
  curl -sS --cacert "$CA" "${auth[@]}" -X POST -H 'Content-Type: application/json' -d "$body" \
    -w '\n%{http_code}' "$WEB$path" | tac
}
METHODS=$(curl -sS --cacert "$CA" --cert "$FARM/users/lee/client.crt" --key "$FARM/users/lee/client.key" "$WEB/api/v1" |
  jq -r '.methods[].path')
check "the REST API lists the cifs methods" contains "$METHODS" "/api/v1/PullRequests/Approve"
unauth_ok=1
for m in $METHODS; do
  out=$(curl_as - "$m")
  [[ $(head -1 <<<"$out") == 401 ]] && grep -q '"code":"UNAUTHENTICATED"' <<<"$out" && grep -q 'cifs web login' <<<"$out" ||
    { echo "       $m without an identity: $out"; unauth_ok=0; }
done
check "every one of the $(wc -w <<<"$METHODS") methods refuses a caller with no identity (401, JSON error saying how to sign in)" \
  test $unauth_ok = 1
# What a dev may not do, by method (the request bodies name something that exists where it matters).
role_ok=1
for spec in "Admin/RevokeUser|{\"name\":\"alice\"}|needs admin" "Admin/ListRevocations|{}|needs admin" \
  "Admin/AddRepo|{\"name\":\"x\",\"url\":\"file:///tmp\"}|needs admin" "Admin/ListRepos|{}|needs admin" \
  "Admin/CreateWorkspace|{\"name\":\"x\",\"owner\":\"bob\",\"repo\":\"sample\"}|needs admin" \
  "Admin/ProvisionWorkspace|{\"name\":\"x\",\"owner\":\"bob\",\"repo\":\"sample\"}|needs admin" \
  "Admin/DeleteWorkspace|{\"name\":\"alice-ws\"}|needs admin" \
  "Builds/ListBuilds|{\"all_users\":true}|needs lead" "Workspaces/ListWorkspaces|{\"all_users\":true}|needs lead" \
  "PullRequests/Approve|{\"number\":1}|only a lead or an admin may approve" \
  "PullRequests/Reject|{\"number\":1,\"message\":\"no\"}|only a lead or an admin may reject" \
  "Builds/RunBuild|{\"workspace\":\"alice-ws\",\"command\":\"build\"}|" "Builds/CancelBuild|{\"id\":\"none\"}|"; do
  IFS='|' read -r path body why <<<"$spec"
  out=$(curl_as bob "/api/v1/$path" "$body")
  code=$(head -1 <<<"$out")
  if [[ ! $code =~ ^(403|404)$ ]] || ! grep -q '"message":"[^"]' <<<"$out" || ! grep -q -- "$why" <<<"$out"; then
    echo "       bob on $path: $out"; role_ok=0
  fi
done
check "bob (dev) is refused what needs another role or someone else's workspace, with a message saying why" test $role_ok = 1
out=$(curl_as admin /api/v1/Admin/ListRepos)
check "... and admin may do it" test "$(head -1 <<<"$out")" = 200
out=$(curl_as lee /api/v1/PullRequests/List '{"bogus": 1}')
check "an unknown field is a 400 naming it" bash -c "[[ \$(head -1 <<<'$out') == 400 ]] && grep -q 'bogus' <<<'$out'"
out=$(curl_as lee /api/v1/PullRequests/List '{not json')
check "malformed JSON is a 400 with a message" bash -c "[[ \$(head -1 <<<'$out') == 400 ]] && grep -q INVALID_ARGUMENT <<<'$out'"
out=$(curl_as lee /api/v1/PullRequests/Explode)
check "an unknown method is a 404 pointing at the list" bash -c "[[ \$(head -1 <<<'$out') == 404 ]] && grep -q 'GET /api/v1' <<<'$out'"
out=$(curl -sS --cacert "$CA" --cert "$FARM/users/lee/client.crt" --key "$FARM/users/lee/client.key" -X POST \
  -d 'number=1' -w '\n%{http_code}' "$WEB/api/v1/PullRequests/Approve" | tac)
check "a form post (what another site can make a browser send) is refused" test "$(head -1 <<<"$out")" = 400

# Browser sessions through REST: the cookie works, but changes need the CSRF token.
LINK=$(as_user bob "$CIFS" web login 2>/dev/null)
check "cifs web login prints a one-time link" contains "$LINK" "^$WEB/login?token="
JAR=$TMP/bob.cookies
curl -sS --cacert "$CA" -c "$JAR" -o /dev/null "$LINK"
SESSION=$(curl -sS --cacert "$CA" -b "$JAR" "$WEB/api/v1/session")
check "the link signs in as bob (dev)" bash -c "jq -e '.user == \"bob\" and .role == \"dev\" and .via == \"session\"' <<<'$SESSION' >/dev/null"
check "the session cookie is HttpOnly, Secure, SameSite" grep -q "^#HttpOnly_localhost.*TRUE.*__Host-cifs_session" "$JAR"
out=$(curl -sS --cacert "$CA" -o /dev/null -w '%{redirect_url}' "$LINK")
check "the link works once" contains "$out" "/signin-failed"
CSRF=$(jq -r .csrf_token <<<"$SESSION")
code=$(curl -sS --cacert "$CA" -b "$JAR" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
  "$WEB/api/v1/Farm/WhoAmI")
check "a cookie request without the CSRF token is refused (403)" test "$code" = 403
code=$(curl -sS --cacert "$CA" -b "$JAR" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "X-CSRF-Token: $CSRF" -d '{}' "$WEB/api/v1/Farm/WhoAmI")
check "... and accepted with it" test "$code" = 200
check "pages forbid inline script (CSP)" bash -c \
  "curl -sS --cacert '$CA' -D - -o /dev/null '$WEB/' | grep -qi \"content-security-policy: default-src 'self'; script-src 'self'\""

# --- the browser ---------------------------------------------------------------------
# A PR from alice for lee to approve.
printf '// reviewed in the browser\n' >>"$FARM/workspaces/alice-pr/lib/greet.h"
run as_user alice "$CIFS" pr submit -m 'Make <b>greetings</b> friendlier' --workspace alice-pr
check "alice submits a PR" succeeded_with "submitted #1"
# A running build to watch.
as_user alice "$CIFS" test //app:ticker_test -w alice-ws -- --test_output=streamed >"$TMP/ticker.out" 2>&1 &
for _ in $(seq 1 600); do grep -q "in workspace alice-ws" "$TMP/ticker.out" && break; sleep 0.1; done
BUILD=$(sed -n 's/.*build \([0-9a-f-]\{36\}\) in workspace.*/\1/p' "$TMP/ticker.out" | head -1)
check "a farm build to watch is running" test -n "$BUILD"
SPKI=$(openssl x509 -in "$FARM/ca/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
export WEB BUILD SPKI ARTIFACTS FARM CIFS PR=1
export LEE_LINK=$(as_user lee "$CIFS" web login 2>/dev/null)
export BOB_LINK=$(as_user bob "$CIFS" web login 2>/dev/null)
export ALICE_LINK=$(as_user alice "$CIFS" web login 2>/dev/null)
node "$SRC_DIR/tests/browser/web_test.mjs"
browser_rc=$?
check "the browser checks passed (screenshots in $ARTIFACTS)" test $browser_rc -eq 0
wait

# The REST API against its OpenAPI document (valid, complete, and what the
# gateway answers fits it).
CA=$CA USERS=$FARM/users node "$SRC_DIR/tests/browser/api_contract.mjs"
contract_rc=$?
check "the REST API's answers match its OpenAPI document" test $contract_rc -eq 0

# A dropped event stream resumes where it stopped: the browser sends the last
# event id (a log offset) and the stream goes on from there.
events() {  # events [CURL_ARGS...]: the build's event stream as alice
  curl -sS -N --max-time 20 --cacert "$CA" --cert "$FARM/users/alice/client.crt" --key "$FARM/users/alice/client.key" \
    "$@" "$WEB/events/builds/$BUILD"
}
ALL=$(events)
END=$(grep '^id: ' <<<"$ALL" | tail -1 | sed 's/id: //')
MID=$((END / 2))
RESUMED=$(events -H "Last-Event-ID: $MID")
check "the event stream has build, log and end events" \
  bash -c "grep -q '^event: build' <<<'$ALL' && grep -q '^event: log' <<<'$ALL' && grep -q '^event: end' <<<'$ALL'"
check "a stream resumed with Last-Event-ID ($MID of $END) starts at that log offset" \
  bash -c "grep -m1 '^data: {\"data\"' <<<\"\$1\" | grep -q '\"offset\":$MID[,}]'" _ "$RESUMED"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" --cert "$FARM/users/bob/client.crt" \
  --key "$FARM/users/bob/client.key" "$WEB/events/builds/$BUILD")
check "bob cannot follow alice's build (404, as for the API)" test "$code" = 404

jobs -p | xargs -r kill 2>/dev/null
finish
