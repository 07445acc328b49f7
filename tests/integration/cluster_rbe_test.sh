#!/usr/bin/env bash
# Remote execution over a cluster: two nodes (scripts/cluster) with one
# worker each, every worker serving both nodes:
# - a farm build on node 1 runs its actions on node 1's and node 2's
#   workers, and node 2's worker fetches inputs from and stores outputs on
#   node 1 (its results are the trusted kind, written by node 1);
# - a developer's Bazel executing through the proxy survives node 2 killed
#   with -9 in the middle: what ran or waited there runs again on node 1.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
FARM=$TMP/cluster
before_teardown() {
  jobs -p | xargs -r kill 2>/dev/null || true
  "$SRC_DIR/scripts/cluster" stop "$FARM" >/dev/null 2>&1 || true
}

run "$SRC_DIR/scripts/cluster" start "$FARM" --nodes 2 -- --workers 1
check "scripts/cluster starts 2 nodes with a worker each" succeeded_with "cluster of 2 nodes running"
[[ $rc -eq 0 ]] || { echo "$out"; finish; exit 1; }
source "$FARM/cluster.env"
served_by() {  # served_by K: the node K worker's streams that are up, by node gRPC port
  grep -o "worker_joined.*node${1}/w1" "$FARM"/node*/farmserver.log | sort -u | wc -l
}
both_serve_both() { [[ $(served_by 1) -eq 2 && $(served_by 2) -eq 2 ]]; }
check "each node's worker joins both nodes" wait_until 30 both_serve_both

# A generated workspace: two slow genrules that can only run side by side on
# two workers, and a few C++ libraries.
UP=$TMP/upstream
mkdir -p "$UP/gen"
cp "$SRC_DIR/tests/data/sample_ws/WORKSPACE" "$UP/"
{
  for i in 0 1 2 3; do
    echo "cc_library(name = \"lib$i\", srcs = [\"lib$i.cc\"])"
    printf 'int f%d(int x) { return x + %d; }\n' $i $i >"$UP/gen/lib$i.cc"
  done
  for s in 1 2; do
    echo "genrule(name = \"slow$s\", outs = [\"slow$s.txt\"], cmd = \"sleep 4; echo slow$s > \$@\")"
  done
} >"$UP/gen/BUILD"
g init -q -b main "$UP" && g -C "$UP" add -A && g -C "$UP" commit -q -m generated
as_user admin "$CIFS" admin repo add gen --url "$UP" >/dev/null
run as_user admin "$CIFS" admin workspace create alice-gen --owner alice --repo gen --node node1
check "the admin places alice's workspace on node 1" eval '[[ $rc -eq 0 && -d $FARM/node1/workspaces/alice-gen ]]'

ran_for() {  # ran_for K PORT: actions node K's worker ran for the node at PORT
  grep -c ": ran .* for [^ ]*:$2 " "$FARM/node$1/workers/w1.log" 2>/dev/null
}
run as_user alice "$CIFS" build -w alice-gen //gen:all
procs=$(grep -E "INFO: [0-9]+ processes?:" <<<"$out" | tail -n1)
local_share=$(ran_for 1 "$node1_grpc")
remote_share=$(ran_for 2 "$node1_grpc")
check "alice's farm build on node 1 runs remotely ($procs)" eval '[[ $rc -eq 0 && $procs =~ remote ]]' ||
  echo "$out" | tail -n 15
check "... on both nodes' workers (node 1's: $local_share, node 2's: $remote_share)" \
  eval '[[ $local_share -gt 0 && $remote_share -gt 0 ]]'
check "... node 2 ran none of it on its own (no farm build there)" eval \
  '[[ ! -e $FARM/node2/bazel/roots/alice-gen && $(ran_for 2 "$node2_grpc") -eq 0 ]]'

# alice's own Bazel, executing through the proxy: node 2 dies mid-build.
BAZEL_WS=$TMP/ws
cp -r "$UP" "$BAZEL_WS" && rm -rf "$BAZEL_WS/.git"
mkdir -p "$BAZEL_WS/later"
{
  for s in 1 2 3 4; do
    echo "genrule(name = \"slow$s\", outs = [\"slow$s.txt\"], cmd = \"sleep 3; echo again$s > \$@\")"
  done
} >"$BAZEL_WS/later/BUILD"
cd "$BAZEL_WS"
as_user alice "$CIFS" bazelrc --remote-exec >.cifs.bazelrc
bazel_cmd build //later:all >"$TMP/kill.out" 2>&1 &
BUILD=$!
node2_busy() { [[ -n $(ls "$FARM/node2/workers/w1/exec" 2>/dev/null) ]]; }
check "node 2's worker runs one of alice's actions" wait_until 120 node2_busy
kill -9 "$(cat "$FARM/node2/farmserver.pid")"
wait $BUILD
build_rc=$?
check "alice's build survives node 2's kill -9 (exit $build_rc)" eval \
  '[[ $build_rc -eq 0 && $(cat bazel-bin/later/slow*.txt | tr "\n" " ") == "again1 again2 again3 again4 " ]]' ||
  tail -n 20 "$TMP/kill.out"
check "... node 2's worker went with it" eval '! pgrep -f "cifs-worker .*--dir $FARM/node2/" >/dev/null'
bazel_cmd shutdown >/dev/null 2>&1
cd /
finish
