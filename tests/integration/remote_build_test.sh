#!/usr/bin/env bash
# `cifs build` / `cifs test` run Bazel on the farm, in the farm-side copy of a
# mounted workspace: what is saved in the mount is what builds, failures show
# Bazel's own messages and exit codes, Ctrl-C stops the build on the farm, the
# node's build limit queues the second user, `cifs logs -f` follows the same
# output, builds run under each workspace's own uid, idle Bazel servers past the limit stop,
# and bad requests are refused before anything runs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache

# An explicit uid range for the builds (the dev farm's default is tested elsewhere).
FARM_FLAGS=(--max-builds 1 --max-warm-servers 1 --build-uids 820000-820099)
"$SRC_DIR/scripts/dev-farm" start "$FARM" "${FARM_FLAGS[@]}" >/dev/null || { echo "cannot start the dev farm"; exit 1; }

before_teardown() {
  local m
  for m in "$TMP"/mnt*; do
    mountpoint -q "$m" 2>/dev/null && { as_user alice "$CIFS" unmount "$m" || fusermount3 -u -z "$m"; }
  done
  pkill -f "fsd --dir $TMP/" || true
  jobs -p | xargs -r kill 2>/dev/null || true
}

alice() { as_user alice "$CIFS" "$@"; }
bob() { as_user bob "$CIFS" "$@"; }
server_pid() { cat "$FARM"/bazel/roots/"$1"/out/*/server/server.pid.txt 2>/dev/null; }
server_uid() { ps -o uid= -p "$(server_pid "$1")" | tr -d ' '; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
long_test_running() { pgrep -f "app/long_test" >/dev/null; }
no_long_test() { ! long_test_running; }
build_id_in() { sed -n 's/^cifs: build \([0-9a-f-]*\) in workspace.*/\1/p' "$1" | head -1; }

# The sample repository, plus a test that runs until it is stopped.
UP=$TMP/upstream
sample_upstream "$UP"
as_user admin "$CIFS" admin repo add sample --url "$UP" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
as_user admin "$CIFS" admin workspace create bob-ws --owner bob --repo sample >/dev/null
MNT=$TMP/mnt
mkdir -p "$MNT"

# --- refused before anything runs --------------------------------------------
cd "$TMP"
run alice build
check "outside a mount without --workspace: told where to run" failed_with "not inside a mounted workspace"
run alice build --workspace no-such-ws
check "an unknown workspace is refused" failed_with "no workspace 'no-such-ws'"
run bob build --workspace alice-ws //...
check "bob cannot build alice's workspace" failed_with "belongs to alice"
for flag in --output_base=/tmp/x --output_user_root=/tmp/x --host_jvm_args=-Xmx9g --bazelrc=/tmp/rc --batch; do
  run alice build --workspace alice-ws -- "$flag"
  check "startup option $flag is refused" failed_with "is a Bazel startup option"
done
for flag in --remote_cache=grpc://elsewhere:1 --bes_backend=grpc://elsewhere:1 --tls_client_key=/etc/shadow \
  --build_event_json_file=/tmp/bep.json --invocation_id=0000; do
  run alice build --workspace alice-ws -- "$flag"
  check "${flag%%=*} is refused (the farm sets it)" failed_with "the farm sets it itself"
done
run alice build --workspace alice-ws -- --override_repository=rules_cc=/tmp/evil
check "--override_repository outside the kit is refused" failed_with "inside the farm's Bazel kit"
run alice build --workspace alice-ws -- --disk_cache /tmp/dc
check "--disk_cache outside the kit is refused (value as the next argument)" failed_with "inside the farm's Bazel kit"
run alice build --workspace alice-ws -- --repository_cache=/tmp/../etc
check "--repository_cache outside the kit is refused" failed_with "inside the farm's Bazel kit"
run alice test --workspace alice-ws --output_base=/tmp/x
check "a Bazel flag before \`--\` is refused by cifs itself" failed_with "output_base"
run alice builds
check "none of these started a build" succeeded_with "no builds yet"

# --- build in the mount ---------------------------------------------------------
run alice mount alice-ws "$MNT"
check "alice mounts her workspace" succeeded_with "mounted alice-ws"
cd "$MNT"
run alice build
check "cifs build (//... by default) succeeds in the mount" succeeded_with "Build completed successfully"
check "... and shows the build's link" contains "$out" "https://localhost:[0-9]*/builds/[0-9a-f-]*"
check "... a progress bar of targets done out of configured" contains "$out" 'cifs: \[#*\] [1-9][0-9]*/[1-9][0-9]* targets'
check "... and Bazel's exit code" contains "$out" "SUCCESS (exit code 0)"
ALICE_UID=$(server_uid alice-ws)
check "the farm's Bazel ran under a uid of --build-uids ($ALICE_UID), not root" \
  bash -c "[[ '$ALICE_UID' -ge 820000 && '$ALICE_UID' -le 820099 ]]"
for f in ca/ca.key ca/server.key metadata.db content/CURRENT users/alice/client.key; do
  check "that uid cannot read the farm's $f" \
    bash -c "! setpriv --reuid=$ALICE_UID --regid=$ALICE_UID --clear-groups cat '$FARM/$f' >/dev/null 2>&1"
done
check "no bazel-* symlinks were written into the workspace" test -z "$(ls -d "$FARM"/workspaces/alice-ws/bazel-* 2>/dev/null)"

# On a terminal the progress bar is a status line redrawn in place.
run script -qec "env CIFS_CONFIG='$FARM/users/alice/config.toml' '$CIFS' build //lib:greet" /dev/null
check "on a terminal, a status line with the progress bar is redrawn in place" \
  contains "$out" $'\r\x1b\[K\[#*-*\] [0-9]*/[0-9]* targets'
check "... and the build succeeds there too" contains "$out" "SUCCESS (exit code 0)"

# An edit saved in the mount is what the next build compiles.
sed -i 's/"hello, "/"howdy, "/' lib/greet.cc
run alice test //app:hello_test
check "a test broken by an edit in the mount fails with Bazel's exit code 3" \
  bash -c "[[ $rc -eq 3 ]]"
check "... and its log is shown (the edited code ran)" contains "$out" "FAIL: .*howdy, world"
check "... and the test summary" contains "$out" "//app:hello_test .*FAILED"
sed -i 's/"howdy, "/"hello, "/' lib/greet.cc
run alice test
check "after the fix the suite passes with exit 0" succeeded_with "Executed .* tests: .* pass"
check "... with the summary per test" contains "$out" "//lib:greet_test .*PASSED"
cd lib
run alice test :greet_test
check "from a subdirectory, relative targets work as with a local Bazel" succeeded_with "//lib:greet_test .*PASSED"
cd "$MNT"

run alice build //nope:nope
check "an unknown target: Bazel's message and a non-zero exit" failed_with "no such package 'nope'"
cp lib/greet.cc "$TMP/greet.cc.ok"
printf 'this is not C++\n' >>lib/greet.cc
run alice build //lib:greet
check "a compile error shows the compiler's message" failed_with "lib/greet.cc.*error:"
check "... and exits with Bazel's code 1" bash -c "[[ $rc -eq 1 ]]"
cp "$TMP/greet.cc.ok" lib/greet.cc

# --- cancel, logs -f, queue -------------------------------------------------------
# Started the way a terminal would run it (job control on: SIGINT is not
# ignored) and as the process itself, so `kill -INT` is a Ctrl-C.
set -m
CIFS_CONFIG="$FARM/users/alice/config.toml" "$CIFS" test //app:long_test >"$TMP/long1.out" 2>&1 &
LONG=$!
set +m
wait_until 120 long_test_running
check "the long test runs on the farm" long_test_running || grep -E "ERROR|error|FAIL" "$TMP/long1.out" | head -n 8
ID1=$(build_id_in "$TMP/long1.out")
alice logs "$ID1" -f >"$TMP/follow.out" 2>&1 &
FOLLOW=$!
sleep 1
run bob cancel "$ID1"
check "bob cannot cancel alice's build" failed_with "no running farm build"
kill -INT $LONG
START=$SECONDS
wait_until 10 no_long_test
check "Ctrl-C stops the build on the farm within 10 s (took $((SECONDS - START)) s)" no_long_test
wait $LONG
rc=$?
out=$(cat "$TMP/long1.out")
check "the cancelled build exits with Bazel's code 8" bash -c "[[ $rc -eq 8 ]]"
check "... saying it cancelled on the farm" contains "$out" "cancelling the build on the farm"
wait_until 20 bash -c "! kill -0 $FOLLOW"
out=$(cat "$TMP/follow.out")
check "cifs logs -f from a second terminal followed to the end" contains "$out" "cancelling the build on the farm"
check "... the same output (Bazel's invocation line)" contains "$out" "Invocation ID: $ID1"
check "... with the summary" contains "$out" "status: INTERRUPTED"
run alice test //lib:greet_test
check "the next build of the workspace runs" succeeded_with "//lib:greet_test .*PASSED"

# Node limit 1: bob waits for alice's build, sees his position, then runs.
alice test //app:long_test >"$TMP/long2.out" 2>&1 &
LONG=$!
wait_until 120 long_test_running
bob build --workspace bob-ws //lib:greet >"$TMP/bob.out" 2>&1 &
BOB=$!
wait_until 20 grep -q "waiting for a build slot, position 1" "$TMP/bob.out"
out=$(cat "$TMP/bob.out")
check "bob's build waits and sees its position" contains "$out" "waiting for a build slot, position 1"
check "... and Bazel has not started for it" bash -c "! grep -q 'Invocation ID' '$TMP/bob.out'"
ALICE_SERVER=$(server_pid alice-ws)
alice cancel "$(build_id_in "$TMP/long2.out")" >/dev/null
wait $LONG
wait $BOB
rc=$?
out=$(cat "$TMP/bob.out")
check "once alice's build ended, bob's ran and succeeded" succeeded_with "Build completed successfully"
check "the farm's builds list the farm workspace" contains "$(bob builds)" "farm:bob-ws"
wait_until 30 bash -c "! kill -0 $ALICE_SERVER 2>/dev/null"
check "with --max-warm-servers 1, alice's idle Bazel server was shut down" bash -c "! kill -0 $ALICE_SERVER 2>/dev/null"
check "... and bob's stays warm" alive "$(server_pid bob-ws)"
check "bob's workspace builds under a uid of its own" bash -c "[[ '$(server_uid bob-ws)' != '$ALICE_UID' ]]"

# kill -9 of the farm in the middle of a build: the restarted farm stops what
# the old one left running, closes the record, and builds again.
alice test //app:long_test >"$TMP/long3.out" 2>&1 &
LONG=$!
wait_until 120 long_test_running
ID3=$(build_id_in "$TMP/long3.out")
kill -KILL "$(cat "$FARM/farmserver.pid")"
wait $LONG
"$SRC_DIR/scripts/dev-farm" start "$FARM" "${FARM_FLAGS[@]}" >/dev/null
wait_until 10 no_long_test
check "after kill -9 and a restart, the old farm's build is stopped" no_long_test
run alice logs "$ID3"
check "... and its record says the farm restarted" succeeded_with "status: FARM_RESTARTED"
run alice build --workspace alice-ws //lib:greet
check "... and the workspace builds again" succeeded_with "SUCCESS (exit code 0)"

# Deleting a workspace stops its Bazel server and removes its output root.
BOB_SERVER=$(server_pid bob-ws)
run as_user admin "$CIFS" admin workspace delete bob-ws
check "bob's workspace is deleted" succeeded_with "deleted"
check "... its Bazel server stopped" bash -c "! kill -0 $BOB_SERVER 2>/dev/null"
check "... and its output root is gone" test ! -e "$FARM/bazel/roots/bob-ws"

# Stopping the farm stops its Bazel servers.
cd "$TMP"
alice unmount "$MNT" >/dev/null
"$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null
no_farm_bazel() { ! pgrep -f "output_user_root=$FARM/bazel/roots" >/dev/null; }
check "no Bazel server of the farm is left after it stops" no_farm_bazel

finish
