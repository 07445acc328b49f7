#!/usr/bin/env bash
# Remote execution with real Bazel 4.2.3 (--remote_executor=grpcs://…) against
# a farm with two workers (farmserver --workers 2):
# - a generated C++ workspace builds and tests with every non-internal action
#   executed remotely, and its outputs are byte-identical to a local build;
# - both workers run a share; one killed with -9 mid-build costs a retry on
#   the other, not the build, and the farm starts it again;
# - an action sees nothing of the machine but its inputs: no other tree, no
#   farm state, no network, nothing written outside its own directory;
# - an action past its timeout or that fills its disk fails with the real
#   cause, and the workers carry on;
# - results the workers computed are trusted (bob's cache-only Bazel hits
#   them); what a developer's own Bazel uploads is still not;
# - an action asking for a platform no worker offers fails at once, clearly;
# - the workers' credential is good for nothing but the CAS and their queue;
# - a local Bazel in a mounted workspace uploads no input the farm already
#   holds in that workspace.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
before_teardown() {
  mountpoint -q "$TMP/mnt" 2>/dev/null && { as_user alice "$CIFS" unmount "$TMP/mnt" || fusermount3 -u -z "$TMP/mnt"; }
  pkill -f "fsd --dir $TMP/" || true
  for w in w1 w2; do mountpoint -q "$FARM/workers/$w/exec" 2>/dev/null && umount -l "$FARM/workers/$w/exec"; done
  true
}
metric() {  # metric NAME: a counter from the farm's /metrics
  local u=$FARM/users/admin
  curl -sS --cacert "$FARM/ca/ca.crt" --cert "$u/client.crt" --key "$u/client.key" \
    "https://localhost:$(jq .http_port "$FARM/ready.json")/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
FARM_FLAGS=(--workers 2)
start_farm || { echo "cannot start the dev farm"; exit 1; }
port=$(jq -r .grpc_port "$FARM/ready.json")

# Something a sandboxed action must not see, though its mode would allow it.
echo "top secret" >"$TMP/secret.txt"
chmod 644 "$TMP/secret.txt"

BAZEL_WS=$TMP/ws
mkdir -p "$BAZEL_WS/gen"
cd "$BAZEL_WS"
cp "$SRC_DIR/tests/data/sample_ws/WORKSPACE" . 2>/dev/null || touch WORKSPACE
{
  for i in 0 1 2 3 4 5; do
    dep=""
    [[ $i -gt 0 ]] && dep="deps = [\":lib$((i - 1))\"],"
    echo "cc_library(name = \"lib$i\", srcs = [\"lib$i.cc\"], hdrs = [\"lib$i.h\"], $dep)"
    echo "cc_test(name = \"lib${i}_test\", srcs = [\"lib${i}_test.cc\"], deps = [\":lib$i\"])"
  done
  echo 'cc_binary(name = "app", srcs = ["app.cc"], deps = [":lib5"])'
  for s in 1 2; do
    echo "genrule(name = \"slow$s\", outs = [\"slow$s.txt\"], cmd = \"sleep 6; echo slow$s > \$@\")"
  done
} >gen/BUILD
# Its own package: it runs once alice's workspace exists on the farm.
mkdir -p probe
cat >probe/BUILD <<PROBE
genrule(
    name = "probe",
    outs = ["probe.txt"],
    cmd = " ".join([
        "(cat $TMP/secret.txt >/dev/null 2>&1 && echo secret:read || echo secret:hidden;",
        "ls $FARM/ca >/dev/null 2>&1 && echo farm:seen || echo farm:hidden;",
        "cat $FARM/workspaces/alice-gen/WORKSPACE >/dev/null 2>&1 && echo workspaces:seen || echo workspaces:hidden;",
        "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && echo net:open || echo net:closed;",
        "touch /usr/escape 2>/dev/null && echo usr:written || echo usr:readonly;",
        "touch ../escape-\$\$\$\$ 2>/dev/null;",
        "id -u) > \$@",
    ]),
)
PROBE
# Outside //gen:all, so no worker ever runs it.
mkdir -p solo
echo 'genrule(name = "local_only", outs = ["local_only.txt"], cmd = "echo alice-made > $@")' >solo/BUILD
for i in 0 1 2 3 4 5; do
  printf '#pragma once\nint f%d(int x);\n' $i >"gen/lib$i.h"
  if [[ $i -eq 0 ]]; then
    printf '#include "gen/lib0.h"\nint f0(int x) { return x + 1; }\n' >gen/lib0.cc
  else
    printf '#include "gen/lib%d.h"\n#include "gen/lib%d.h"\nint f%d(int x) { return f%d(x) * 2; }\n' \
      $i $((i - 1)) $i $((i - 1)) >"gen/lib$i.cc"
  fi
  printf '#include "gen/lib%d.h"\nint main() { return f%d(1) > 0 ? 0 : 1; }\n' $i $i >"gen/lib${i}_test.cc"
done
printf '#include <cstdio>\n#include "gen/lib5.h"\nint main() { std::printf("%%d\\n", f5(1)); }\n' >gen/app.cc

as_user alice "$CIFS" bazelrc >.cifs.bazelrc
as_user alice "$CIFS" bazelrc --remote-exec >"$TMP/alice-rbe.bazelrc"
check "cifs bazelrc --remote-exec points Bazel's executor at the farm" \
  grep -q "^build --remote_executor=grpcs://localhost:$port" "$TMP/alice-rbe.bazelrc"
rbe() { bazel --output_user_root="$TMP/bazel-root" --bazelrc="$TMP/alice-rbe.bazelrc" "$@"; }
CC_OUTS="bazel-bin/gen/app bazel-bin/gen/liblib0.a bazel-bin/gen/liblib5.a bazel-bin/gen/_objs/lib3/lib3.pic.o"

# A local build first (no farm at all), to compare outputs with.
run bazel_cmd build //gen:app //gen:lib0 //gen:lib3 //gen:lib5 --remote_cache= --bes_backend=
check "the local build passes" eval '[[ $rc -eq 0 ]]' || echo "$out" | tail -n 20
sha256sum $CC_OUTS >"$TMP/local.sha" 2>&1
bazel_cmd shutdown >/dev/null 2>&1

# Both workers busy with a slow action each: w1 is killed with -9.
worker_pid() { pgrep -f -- "cifs-worker .*--name $1( |$)" | head -n1; }
w1_before=$(worker_pid w1)
rbe clean >/dev/null 2>&1
rbe build //gen:slow1 //gen:slow2 >"$TMP/slow.out" 2>&1 &
SLOW=$!
both_busy() { [[ -n $(ls "$FARM/workers/w1/exec" 2>/dev/null) && -n $(ls "$FARM/workers/w2/exec" 2>/dev/null) ]]; }
check "both workers run a slow action" wait_until 120 both_busy
kill -9 "$w1_before"
wait $SLOW
slow_rc=$?
check "the build still succeeds after a worker was killed mid-action (exit $slow_rc)" eval '[[ $slow_rc -eq 0 ]]' ||
  tail -n 20 "$TMP/slow.out"
check "... its action ran again on the other worker" eval \
  '[[ $(cat bazel-bin/gen/slow1.txt bazel-bin/gen/slow2.txt | tr "\n" " ") == "slow1 slow2 " ]]'
w1_back() { [[ -n $(worker_pid w1) && $(worker_pid w1) != "$w1_before" ]]; }
check "the farm starts the killed worker again" wait_until 30 w1_back

# The farm itself killed with -9 mid-action: its workers go with it, the
# restarted farm starts its own, and Bazel's WaitExecution (NOT_FOUND now)
# executes again there.
mkdir -p later
echo 'genrule(name = "slow3", outs = ["slow3.txt"], cmd = "sleep 6; echo slow3 > $@")' >later/BUILD
rbe build //later:slow3 >"$TMP/restart.out" 2>&1 &
LATER=$!
busy() { [[ -n $(ls "$FARM"/workers/w1/exec "$FARM"/workers/w2/exec 2>/dev/null | grep -v :) ]]; }
check "a worker runs the action" wait_until 120 busy
kill -9 "$(jq -r .pid "$FARM/ready.json")"
sleep 1
start_farm
wait $LATER
later_rc=$?
check "the build survives its farm's kill -9 and restart (exit $later_rc)" eval \
  '[[ $later_rc -eq 0 && $(cat bazel-bin/later/slow3.txt) == slow3 ]]' || tail -n 20 "$TMP/restart.out"
two_workers() { [[ $(pgrep -c -f "cifs-worker --config $FARM/") -eq 2 ]]; }
check "no worker of the killed farm is left: two run, the new farm's" wait_until 10 two_workers

# A test past its timeout: killed on the worker, reported as Bazel reports a
# local timeout, and the worker carries on.
printf '#!/bin/sh\nsleep 120\n' >later/sleepy.sh
chmod +x later/sleepy.sh
printf 'sh_test(name = "sleepy_test", srcs = ["sleepy.sh"])\n' >>later/BUILD
START=$SECONDS
run rbe test //later:sleepy_test --test_timeout=3
check "a test past its timeout is stopped on the worker and reported TIMEOUT (in $((SECONDS - START)) s)" eval \
  '[[ $rc -ne 0 && $out == *TIMEOUT* && $((SECONDS - START)) -lt 60 ]]' || echo "$out" | tail -n 8
check "... and both workers still serve" eval '[[ $(pgrep -c -f "cifs-worker --config $FARM/") -eq 2 ]]'

# An action that fills its disk: each worker's exec roots on a 16 MiB tmpfs.
for w in w1 w2; do
  mount -t tmpfs -o "size=16m,mode=0755,uid=$(stat -c %u "$FARM/workers/$w"),gid=$(stat -c %g "$FARM/workers/$w")" \
    tmpfs "$FARM/workers/$w/exec"
done
printf 'genrule(name = "filler", outs = ["filler.bin"], cmd = "head -c 64m /dev/zero > $@")\n' >>later/BUILD
printf 'genrule(name = "after_full", outs = ["after_full.txt"], cmd = "echo fine > $@")\n' >>later/BUILD
run rbe build //later:filler
check "an action that fills its disk fails with the real cause" eval \
  '[[ $rc -ne 0 && $out == *"disk for this action is full"* ]]' || echo "$out" | tail -n 8
run rbe build //later:after_full
check "... and the workers carry on with the next action" eval \
  '[[ $rc -eq 0 && $(pgrep -c -f "cifs-worker --config $FARM/") -eq 2 ]]' || echo "$out" | tail -n 8
for w in w1 w2; do umount "$FARM/workers/$w/exec"; done

# Ctrl-C of the local Bazel: nobody waits for its action any more, and the
# worker stops it instead of running it to the end.
printf 'genrule(name = "forever", outs = ["forever.txt"], cmd = "sleep 600; touch $@")\n' >>later/BUILD
set -m
rbe build //later:forever >"$TMP/forever.out" 2>&1 &
FOREVER=$!
set +m
check "a worker runs the endless action" wait_until 120 busy
kill -INT -- -$FOREVER  # its process group: the shell running rbe, and Bazel
START=$SECONDS
wait $FOREVER 2>/dev/null
idle() { ! busy; }
wait_until 30 idle
stopped=$?
check "after Ctrl-C the worker stops it ($((SECONDS - START)) s after the Ctrl-C)" test $stopped -eq 0
check "... and the farm says why" grep -q '"operation_cancelled"' "$FARM/farmserver.log"

# Everything executed remotely.
run rbe test //gen:all
check "the generated workspace builds and tests on the workers" eval '[[ $rc -eq 0 ]]' || echo "$out" | tail -n 30
procs=$(grep -E "INFO: [0-9]+ processes?:" <<<"$out" | tail -n1)
echo "     remote build: $procs"
check "every non-internal action ran remotely ($procs)" eval \
  '[[ $procs =~ remote ]] && ! grep -qE "local|sandbox|worker" <<<"${procs#*:}"'
sha256sum $CC_OUTS >"$TMP/remote.sha" 2>&1
check "its outputs are byte-identical to the local build's" diff "$TMP/local.sha" "$TMP/remote.sha"
ran1=$(grep -c ": ran " "$FARM/workers/w1.log")
ran2=$(grep -c ": ran " "$FARM/workers/w2.log")
check "both workers ran a share (w1: $ran1, w2: $ran2)" eval '[[ $ran1 -gt 0 && $ran2 -gt 0 ]]'

# A farm build (cifs test) on a node with workers sends its actions there.
UP=$TMP/upstream
mkdir -p "$UP/data" && cp -r WORKSPACE gen "$UP/"
# 1 MiB nobody uploaded: it exists only in the repository.
head -c 1048576 /dev/urandom >"$UP/data/blob.bin"
echo 'genrule(name = "size", srcs = ["blob.bin"], outs = ["size.txt"], cmd = "wc -c < $< > $@")' >"$UP/data/BUILD"
g init -q -b main "$UP" && g -C "$UP" add -A && g -C "$UP" commit -q -m generated
as_user admin "$CIFS" admin repo add gen --url "$UP" >/dev/null
as_user admin "$CIFS" admin workspace create alice-gen --owner alice --repo gen >/dev/null
ran_before=$(cat "$FARM"/workers/w*.log | grep -c ": ran ")
run as_user alice "$CIFS" test -w alice-gen //gen:all -- --nocache_test_results
procs=$(grep -E "INFO: [0-9]+ processes?:" <<<"$out" | tail -n1)
ran_after=$(cat "$FARM"/workers/w*.log | grep -c ": ran ")
check "alice's farm test runs its tests on the workers ($procs; $((ran_after - ran_before)) actions)" eval \
  '[[ $rc -eq 0 && $procs =~ [0-9]+\ remote[,.] && $((ran_after - ran_before)) -ge 6 ]]' || echo "$out" | tail -n 15
# Alice's own Bazel in her mount, executing on the farm: the 1 MiB input is
# in her workspace on the farm already, so it is found, not uploaded.
mkdir -p "$TMP/mnt"
run as_user alice "$CIFS" mount alice-gen "$TMP/mnt"
check "alice mounts her workspace" succeeded_with "mounted"
written_before=$(metric cifs_cas_bytes_written_total)
(cd "$TMP/mnt" && bazel --output_user_root="$TMP/bazel-root" --bazelrc="$TMP/alice-rbe.bazelrc" build //data:size \
  >"$TMP/mnt-build.out" 2>&1)
mnt_rc=$?
written=$(($(metric cifs_cas_bytes_written_total) - written_before))
check "her local Bazel builds in the mount on the workers (exit $mnt_rc)" eval \
  '[[ $mnt_rc -eq 0 && $(tr -d " " <"$TMP/mnt/bazel-bin/data/size.txt") == 1048576 ]]' || tail -n 10 "$TMP/mnt-build.out"
check "... and uploads none of the 1 MiB input the farm holds ($written bytes written)" eval '[[ $written -lt 500000 ]]'
(cd "$TMP/mnt" && bazel --output_user_root="$TMP/bazel-root" --bazelrc="$TMP/alice-rbe.bazelrc" shutdown >/dev/null 2>&1)
as_user alice "$CIFS" unmount "$TMP/mnt" >/dev/null 2>&1

run as_user alice "$CIFS" workers
check "cifs workers lists the node's two workers" eval '[[ $rc -eq 0 && $(grep -c "OSFamily=Linux" <<<"$out") -eq 2 ]]' ||
  echo "$out"

# The sandbox.
run rbe build //probe:probe
probe=$(tr '\n' ' ' <bazel-bin/probe/probe.txt 2>/dev/null)
echo "     probe: $probe"
check "an action cannot read a file outside its inputs" grep -q "secret:hidden" bazel-bin/probe/probe.txt
check "... nor see the farm's state" grep -q "farm:hidden" bazel-bin/probe/probe.txt
check "... nor any workspace on the farm" grep -q "workspaces:hidden" bazel-bin/probe/probe.txt
check "... nor open a network connection" grep -q "net:closed" bazel-bin/probe/probe.txt
check "... nor write the system" grep -q "usr:readonly" bazel-bin/probe/probe.txt
check "... and what it writes beside its root stays in the sandbox" eval \
  '[[ -z $(find "$FARM/workers" "$TMP" -maxdepth 4 -name "escape-*" 2>/dev/null) ]]'
check "... and it does not run as root" eval '[[ $(tail -n1 bazel-bin/probe/probe.txt) != 0 ]]'

# An action that turns its output's directory into a symlink to the worker's
# credential: the worker, collecting outputs on the host, must not follow it.
mkdir -p leak
cat >leak/BUILD <<LEAK
genrule(
    name = "steal",
    outs = ["loot/key.pem"],
    cmd = "rm -rf \$\$(dirname \$@) && ln -s $FARM/workers/credential \$\$(dirname \$@)",
)
LEAK
run rbe build //leak:steal
check "an output reached through a symlink the action made is not collected (the worker's key stays home)" eval \
  '[[ $rc -ne 0 && ! -e bazel-bin/leak/loot/key.pem ]]' || echo "$out" | tail -n 5
check "... and the worker survives it" eval '[[ -n $(worker_pid w1) && -n $(worker_pid w2) ]]'

# Trust: worker results are for everyone; a developer's upload is not.
run bazel_cmd build //solo:local_only
check "alice builds a target on her own machine (uploading its result)" eval '[[ $rc -eq 0 ]]'
rbe shutdown >/dev/null 2>&1
as_user bob "$CIFS" bazelrc >"$TMP/bob.bazelrc"
bob() { bazel --output_user_root="$TMP/bazel-root" --bazelrc="$TMP/bob.bazelrc" "$@"; }
bob clean >/dev/null 2>&1
run bob build //gen:app
procs=$(grep -E "INFO: [0-9]+ processes?:" <<<"$out" | tail -n1)
check "bob's cache-only build hits what the workers computed ($procs)" eval \
  '[[ $rc -eq 0 && $procs =~ "remote cache hit" ]] && ! grep -qE "linux-sandbox|local|processwrapper" <<<"${procs#*:}"'
run bob build //solo:local_only
procs=$(grep -E "INFO: [0-9]+ processes?:" <<<"$out" | tail -n1)
check "... but not what alice's own Bazel uploaded ($procs)" eval '[[ $rc -eq 0 && ! $procs =~ "remote cache hit" ]]'
bob shutdown >/dev/null 2>&1

# A platform nobody offers.
run timeout 120 bazel --output_user_root="$TMP/bazel-root" --bazelrc="$TMP/alice-rbe.bazelrc" build //gen:lib0 \
  --remote_default_exec_properties=OSFamily=Windows --noremote_accept_cached
check "an action for a platform no worker offers fails at once, naming it" eval \
  '[[ $rc -ne 0 && $out == *"no worker of this farm offers platform OSFamily=Windows"* ]]' || echo "$out" | tail -n 10
rbe shutdown >/dev/null 2>&1

# The workers' credential.
run env CIFS_CONFIG="$FARM/workers/credential/config.toml" "$CIFS" whoami
check "the workers' credential is refused by the farm's API" failed_with "may take actions and use the CAS only"
W=$FARM/workers/credential
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$W/ca.crt" --cert "$W/cert.pem" --key "$W/key.pem" \
  "https://localhost:$(jq .http_port "$FARM/ready.json")/events/changes" --max-time 5)
check "... and by its HTTPS side (got $code)" test "$code" = 403

cd /
finish
