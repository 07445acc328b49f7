#!/usr/bin/env bash
# The gate no developer can forge, on the README's own dev farm (its defaults,
# then an explicit --build-uids range):
# - a farm build never runs as root and cannot read the farm's keys, metadata
#   or content store, another workspace, another build's output root or
#   credential, nor write another workspace (a BUILD file of alice's choosing,
#   run outside Bazel's sandbox with tags = ["local"]);
# - the credential of bob's build is good for nothing but his own build, and
#   for nothing once it ended;
# - a test that passes in alice's environment (her local Bazel and her farm
#   builds, which fill her cache tier) but fails on the farm's own checkout
#   is red in validation and cannot be merged.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache

before_teardown() { jobs -p | xargs -r kill 2>/dev/null || true; }
alice() { as_user alice "$CIFS" "$@"; }
bob() { as_user bob "$CIFS" "$@"; }
lee() { as_user lee "$CIFS" "$@"; }
long_test_running() { pgrep -f "app/long_test" >/dev/null; }
running_build() { ls "$FARM/bazel/creds" 2>/dev/null | head -1; }
have_running_build() { [[ -n $(running_build) ]]; }

# The sample repository on a bare upstream, with a test that runs until stopped.
UP=$TMP/upstream
sample_upstream "$UP"
git clone -q --bare "$UP" "$TMP/upstream.git"

"$SRC_DIR/scripts/dev-farm" start "$FARM" >/dev/null || { echo "cannot start the dev farm"; exit 1; }
as_user admin "$CIFS" admin repo add sample --url "$TMP/upstream.git" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
as_user admin "$CIFS" admin workspace create bob-ws --owner bob --repo sample >/dev/null
ALICE_WS=$FARM/workspaces/alice-ws

# alice's BUILD file: a test, run outside Bazel's sandbox, that tries every
# line of targets.txt and passes only if each one is refused.
mkdir -p "$ALICE_WS/escape"
cat >"$ALICE_WS/escape/BUILD" <<'EOF'
sh_test(
    name = "escape_test",
    srcs = ["escape_test.sh"],
    data = ["targets.txt"],
    tags = ["manual", "local"],
)
EOF
cat >"$ALICE_WS/escape/escape_test.sh" <<'EOF'
#!/bin/sh
escaped=0
uid=$(id -u)
echo "running as uid $uid"
[ "$uid" != 0 ] || { echo "ESCAPED: runs as root"; escaped=1; }
while read -r how path; do
  case $how in
    read) err=$(cat -- "$path" 2>&1 >/dev/null) ;;
    list) err=$(ls -- "$path" 2>&1 >/dev/null) ;;
    write) err=$( (echo pwned >"$path") 2>&1) ;;
  esac
  if [ $? -eq 0 ]; then echo "ESCAPED: $how $path"; escaped=1; else echo "refused: $how $path: ${err##*: }"; fi
done <escape/targets.txt
exit $escaped
EOF
chmod +x "$ALICE_WS/escape/escape_test.sh"

# escape_round LABEL: bob's build runs while alice's escape test tries
# everything of the farm's and bob's.
escape_round() {
  local label=$1 bob_build f t
  bob test -w bob-ws //app:long_test >"$TMP/bob-long.out" 2>&1 &
  wait_until 120 long_test_running
  wait_until 10 have_running_build
  bob_build=$(running_build)
  check "[$label] bob's build runs and has a credential of its own" test -n "$bob_build"
  local bob_out
  bob_out=$(find "$FARM/bazel/roots/bob-ws/out" -type f -name 'server.pid.txt' | head -1)
  {
    for f in ca/ca.key ca/server.key users/bob/client.key metadata.db content/CURRENT bazel/uids \
      "bazel/creds/$bob_build/key.pem" workspaces/bob-ws/lib/greet.cc "${bob_out#"$FARM"/}"; do
      echo "read $FARM/$f"
    done
    for f in content repos bazel/creds workspaces/bob-ws bazel/roots/bob-ws/out; do echo "list $FARM/$f"; done
    echo "write $FARM/workspaces/bob-ws/lib/pwned.txt"
    echo "write $FARM/bazel/roots/bob-ws/home/pwned"
  } >"$ALICE_WS/escape/targets.txt"
  # Every target is real: a refusal is the kernel's, not a typo's.
  local missing=""
  while read -r how t; do
    if [[ $how == write ]]; then [[ -d $(dirname "$t") ]] || missing+=" $t"; else [[ -e $t ]] || missing+=" $t"; fi
  done <"$ALICE_WS/escape/targets.txt"
  check "[$label] every path the escape test tries exists" test -z "$missing"

  run alice test -w alice-ws //escape:escape_test -- --test_output=all
  check "[$label] alice's escape test passes: everything refused" succeeded_with "//escape:escape_test .*PASSED"
  check "[$label] ... it ran under a uid that is not root" contains "$out" "running as uid [1-9]"
  check "[$label] ... reading the CA key: permission denied" contains "$out" "refused: read $FARM/ca/ca.key: Permission denied"
  check "[$label] ... reading bob's build credential: permission denied" \
    contains "$out" "refused: read $FARM/bazel/creds/$bob_build/key.pem: Permission denied"
  check "[$label] ... listing bob's workspace: permission denied" \
    contains "$out" "refused: list $FARM/workspaces/bob-ws: .*Permission denied"
  check "[$label] ... writing bob's workspace: permission denied" \
    contains "$out" "refused: write $FARM/workspaces/bob-ws/lib/pwned.txt: Permission denied"
  check "[$label] ... reading bob's output root: permission denied" \
    contains "$out" "refused: read $bob_out: Permission denied"
  check "[$label] ... nothing escaped" bash -c "! grep -q ESCAPED <<<\"\$0\"" "$out"
  check "[$label] bob's workspace holds nothing of alice's" test ! -e "$FARM/workspaces/bob-ws/lib/pwned.txt"

  # bob takes the credential his build was given (his build can read it) and
  # tries it on everything else.
  STOLEN=$TMP/stolen-$label
  mkdir -p "$STOLEN"
  cp "$FARM/bazel/creds/$bob_build/"{cert.pem,key.pem,ca.crt} "$STOLEN/"
  printf "ca = 'ca.crt'\ncert = 'cert.pem'\nkey = 'key.pem'\nfarm = '%s'\nuser = 'bob'\n" \
    "$(sed -n "s/^farm = '\(.*\)'/\1/p" "$FARM/users/bob/config.toml")" >"$STOLEN/config.toml"
  run env CIFS_CONFIG="$STOLEN/config.toml" "$CIFS" builds --all
  check "[$label] bob's build credential cannot list builds" failed_with "may use the cache and build events only"
  run env CIFS_CONFIG="$STOLEN/config.toml" "$CIFS" cancel "$ALICE_BUILD"
  check "[$label] ... nor cancel alice's build" failed_with "may use the cache and build events only"
  if [[ $label == defaults ]]; then
    # Through a real Bazel 4.2.3 (bob's rc, the stolen certificate), into
    # alice's build's event stream: refused, her record keeps its command.
    BAZEL_WS=$TMP/bob-clone
    git clone -q "$UP" "$BAZEL_WS"
    bob bazelrc | sed -e "s|tls_client_certificate=.*|tls_client_certificate=$STOLEN/cert.pem|" \
      -e "s|tls_client_key=.*|tls_client_key=$STOLEN/key.pem|" >"$BAZEL_WS/.cifs.bazelrc"
    (cd "$BAZEL_WS" && bazel_cmd build //lib:greet --invocation_id="$ALICE_BUILD" >"$TMP/stolen-bes.out" 2>&1)
    (cd "$BAZEL_WS" && bazel_cmd shutdown >/dev/null 2>&1)
    out=$(cat "$TMP/stolen-bes.out")
    check "[$label] a Bazel with bob's build credential cannot report into alice's build" \
      contains "$out" "may report only that build, not $ALICE_BUILD"
    run alice logs "$ALICE_BUILD"
    check "[$label] ... alice's build record keeps its own command" succeeded_with "bazel build //lib:greet"
    check "[$label] ... and its log has nothing of bob's" bash -c "! grep -q 'Invocation ID: $ALICE_BUILD.*bob-clone' <<<\"\$0\"" "$out"
  fi
  BOB_BUILD=$bob_build
  bob cancel "$bob_build" >/dev/null
  wait
  run env CIFS_CONFIG="$STOLEN/config.toml" "$CIFS" whoami
  check "[$label] once bob's build ended, its credential is refused outright" failed_with "ended with its build"
}

run alice build -w alice-ws //lib:greet
check "alice's farm build runs" succeeded_with "SUCCESS (exit code 0)"
ALICE_BUILD=$(sed -n 's/^cifs: build \([0-9a-f-]*\) SUCCESS.*/\1/p' <<<"$out" | head -1)
escape_round defaults
RANGE=$(sed -n 's/^build-uids = "\(.*\)"/\1/p' "$FARM/farmserver.toml")
ALICE_UID=$(ps -o uid= -p "$(cat "$FARM"/bazel/roots/alice-ws/out/*/server/server.pid.txt)" | tr -d ' ')
check "the dev farm's builds run under its own uid range ($RANGE has $ALICE_UID)" \
  bash -c "[[ -n '$RANGE' && $ALICE_UID -ge ${RANGE%-*} && $ALICE_UID -le ${RANGE#*-} ]]"

# The same under an explicit uid range: every workspace gets a uid of it.
"$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null
"$SRC_DIR/scripts/dev-farm" start "$FARM" --build-uids 830000-830099 >/dev/null
escape_round explicit
check "with --build-uids 830000-830099 alice's builds run as 8300xx" \
  bash -c "ps -o uid= -p \$(cat '$FARM'/bazel/roots/alice-ws/out/*/server/server.pid.txt) | grep -q '^ *8300[0-9][0-9]$'"

# --- the gate ------------------------------------------------------------------
# A test that passes wherever alice runs it and fails on the farm's checkout.
rm -rf "$ALICE_WS/escape"
mkdir -p "$ALICE_WS/gate"
printf 'sh_test(\n    name = "env_test",\n    srcs = ["env_test.sh"],\n)\n' >"$ALICE_WS/gate/BUILD"
cat >"$ALICE_WS/gate/env_test.sh" <<'EOF'
#!/bin/sh
case "$(readlink -f "$0")" in
  */validations/*) echo "GATE: fails on the farm's own checkout"; exit 1 ;;
esac
echo "GATE: passes here"
EOF
chmod +x "$ALICE_WS/gate/env_test.sh"

# Alice's local Bazel (a copy of her tree) and her farm build: both green,
# both cached in her tier.
LOCAL=$TMP/alice-local
cp -r "$ALICE_WS" "$LOCAL"
alice bazelrc >"$LOCAL/.cifs.bazelrc"
BAZEL_WS=$LOCAL
cd "$LOCAL"
run bazel_cmd test //gate:env_test
check "alice's local Bazel passes the test (and caches the result in her tier)" contains "$out" "//gate:env_test .*PASSED"
bazel_cmd clean >/dev/null 2>&1
run bazel_cmd test //gate:env_test
check "... a clean rebuild reads it back from the farm" contains "$out" "//gate:env_test .*(cached) PASSED"
cd "$TMP"
run alice test -w alice-ws //gate:env_test
check "alice's farm build of her workspace passes it too" succeeded_with "//gate:env_test .*PASSED"

run alice pr submit -w alice-ws -m "gate test"
check "alice submits the PR" succeeded_with "submitted #1"
validation_state() { alice pr show 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revisions"][-1]["validation"].get("state",""))'; }
validated() { [[ $(validation_state) =~ ^(passed|failed|error)$ ]]; }
wait_until 300 validated
check "the validation is red" test "$(validation_state)" = failed
run alice pr logs 1
check "... because the test ran on the farm's checkout, not from alice's cache" contains "$out" "GATE: fails on the farm's own checkout"
check "... and the test was not a cached PASS" bash -c "! grep -q '//gate:env_test.*(cached) PASSED' <<<\"\$0\"" "$out"
check "... while main's own tests came from the trusted tier (the farm's baseline of main)" \
  contains "$out" "//lib:greet_test .*(cached) PASSED"
lee pr approve 1 >/dev/null 2>&1
run alice pr merge 1
check "the red PR cannot be merged" failed_with "is not green"
check "main does not have the test" bash -c "! git -C '$TMP/upstream.git' show main:gate/env_test.sh >/dev/null 2>&1"

finish
