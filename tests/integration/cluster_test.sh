#!/usr/bin/env bash
# Three farm nodes behind HAProxy on one PostgreSQL, started with
# scripts/cluster as an admin would:
# - each user is themselves through the proxy, whichever node answers
#   (calls of several users share the proxy's connections to a node);
# - the forwarded-certificate header is honoured only from the proxy: a
#   user who sends it to a node is refused (gRPC and HTTPS), and one sent
#   through the proxy is replaced by the caller's own certificate;
# - a user revoked through one node is refused by every node;
# - a change recorded by one node reaches a live page on another within 1 s
#   (NOTIFY), and the nodes carry on after PostgreSQL restarts;
# - a workspace lives on one node, placed by the proxy or the admin, and its
#   calls are routed there: alice mounts it through the proxy, tests on the
#   farm, submits a PR that lee approves and that lands exactly once; a
#   Ctrl-C of `cifs test` stops the farm's Bazel within 5 s; a node asked
#   about a workspace it does not hold says where it lives;
# - the cache is sharded over the nodes: a clean build through another node
#   is all remote hits, and a node that is down costs misses, not a build;
#   only a node's peer certificate reaches another node's shard.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
FARM=$TMP/cluster
MNT=$TMP/mnt
before_teardown() {
  jobs -p | xargs -r kill 2>/dev/null || true
  CIFS_CONFIG="$FARM/users/alice/config.toml" "$CIFS" unmount "$MNT" >/dev/null 2>&1 || true
  "$SRC_DIR/scripts/cluster" stop "$FARM" >/dev/null 2>&1 || true
}

run "$SRC_DIR/scripts/cluster" start "$FARM" --nodes 3
check "scripts/cluster starts PostgreSQL, 3 nodes and HAProxy" succeeded_with "cluster of 3 nodes running"
[[ $rc -eq 0 ]] || { echo "$out"; finish; exit 1; }
source "$FARM/cluster.env"
run "$SRC_DIR/scripts/cluster" status "$FARM"
check "cluster status lists the proxy, the database and each node" \
  eval '[[ $rc -eq 0 && $(grep -c running <<<"$out") -eq 5 ]]'

who_each() {  # who_each USER: whoami through the proxy, 6 times (each node twice)
  local i
  for i in 1 2 3 4 5 6; do as_user "$1" "$CIFS" whoami 2>&1; done
}
for u in alice:dev bob:dev lee:lead; do
  name=${u%%:*}
  out=$(who_each "$name")
  check "$name is $name ($u) through the proxy on every node" \
    eval "[[ \$(grep -c '^$name (${u##*:}) on farm localhost:$grpc_port' <<<\"\$out\") -eq 6 ]]"
done

# A raw gRPC call (curl speaks HTTP/2): WhoAmI with an empty request.
printf '\0\0\0\0\0' >"$TMP/empty.grpc"
grpc_call() {  # grpc_call PORT CERT_DIR METHOD [CURL_ARGS...]: an empty request; prints headers, trailers, body
  local port=$1 certs=$2 method=$3
  shift 3
  curl -s --http2 --cacert "$FARM/ca/ca.crt" --cert "$certs/client.crt" --key "$certs/client.key" \
    -H "content-type: application/grpc" -H "te: trailers" "$@" --data-binary @"$TMP/empty.grpc" \
    "https://localhost:$port/$method" -D - -o - | tr -d '\r' | tr -c '[:print:]\n' ' '
}
grpc_whoami() { grpc_call "$1" "$2" cifs.v1.Farm/WhoAmI "${@:3}"; }  # grpc_whoami PORT CERT_DIR [CURL_ARGS...]
ADMIN_DER=$(openssl x509 -in "$FARM/users/admin/client.crt" -outform der | base64 -w0)
out=$(grpc_whoami "$node1_grpc" "$FARM/users/bob")
check "bob may call a node directly (gRPC)" eval 'grep -q "grpc-status: 0" <<<"$out" && grep -q bob <<<"$out"'
out=$(grpc_whoami "$node1_grpc" "$FARM/users/bob" -H "x-cifs-client-cert: $ADMIN_DER")
check "bob naming admin to a node is refused (gRPC)" \
  eval 'grep -q "grpc-status: 7" <<<"$out" && grep -q "only the farm.s proxy may name another caller" <<<"$out"'
out=$(grpc_whoami "$grpc_port" "$FARM/users/bob" -H "x-cifs-client-cert: $ADMIN_DER")
check "bob naming admin through the proxy is still bob (gRPC)" \
  eval 'grep -q "grpc-status: 0" <<<"$out" && grep -q bob <<<"$out" && ! grep -q admin <<<"$out"'
out=$(grpc_whoami "$node2_grpc" "$FARM/proxy/client")
check "the proxy's own certificate has no rights without a caller (gRPC)" \
  eval 'grep -q "grpc-status: 16" <<<"$out"'

rest() {  # rest PORT CERT_DIR [CURL_ARGS...]: GET /api/v1/session; prints body and code
  local port=$1 certs=$2
  shift 2
  curl -s -w ' %{http_code}' --cacert "$FARM/ca/ca.crt" ${certs:+--cert "$certs/client.crt" --key "$certs/client.key"} \
    "$@" "https://localhost:$port/api/v1/session"
}
out=$(rest "$http_port" "$FARM/users/lee")
check "lee is lee through the proxy (HTTPS)" eval 'grep -q "\"user\":\"lee\"" <<<"$out" && grep -q " 200$" <<<"$out"'
out=$(rest "$node3_http" "$FARM/users/bob" -H "x-cifs-client-cert: $ADMIN_DER")
check "bob naming admin to a node is refused (HTTPS)" eval 'grep -q " 403$" <<<"$out"'
out=$(rest "$http_port" "$FARM/users/bob" -H "x-cifs-client-cert: $ADMIN_DER")
check "bob naming admin through the proxy is still bob (HTTPS)" eval 'grep -q "\"user\":\"bob\"" <<<"$out"'
out=$(rest "$http_port" "" -H "x-cifs-client-cert: $ADMIN_DER")
check "no certificate but a forged header through the proxy is signed out (HTTPS)" eval 'grep -q " 401$" <<<"$out"'
CA_DER=$(openssl x509 -in "$FARM/ca/ca.crt" -outform der | base64 -w0)
SELF_SIGNED=$TMP/self
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$SELF_SIGNED.key" \
  -out "$SELF_SIGNED.crt" -days 1 -subj "/CN=admin/OU=admin" 2>/dev/null
FAKE_DER=$(openssl x509 -in "$SELF_SIGNED.crt" -outform der | base64 -w0)
out=$(rest "$node1_http" "$FARM/proxy/client" -H "x-cifs-client-cert: $FAKE_DER")
check "a forwarded certificate not from the farm CA is refused even from the proxy" \
  eval 'grep -q " 401$" <<<"$out" && grep -q "not valid" <<<"$out"'

# Revoked through whichever node the proxy picks; refused by all of them.
run as_user admin "$CIFS" admin user revoke bob
check "admin revokes bob through the proxy" succeeded_with "revoked"
bob_refused_everywhere() {
  local port
  for port in "$node1_grpc" "$node2_grpc" "$node3_grpc"; do
    grpc_whoami "$port" "$FARM/users/bob" | grep -q "grpc-status: 16" || return 1
  done
}
check "every node refuses bob within 1 s" wait_until 1 bob_refused_everywhere
out=$(who_each bob)
check "bob is refused through the proxy" eval '[[ $(grep -c "revoked" <<<"$out") -eq 6 ]]'
out=$(who_each alice)
check "alice is still served" eval '[[ $(grep -c "^alice (dev)" <<<"$out") -eq 6 ]]'

# One cache over the nodes: alice's own Bazel builds through node 1, then,
# from a clean output base, through node 2: every action is a remote hit,
# although each node holds only its share of the blobs.
out=$(grpc_call "$node2_grpc" "$FARM/node1/peer" cifs.v1.CacheShard/FindMissing)
check "node 1's peer certificate reaches node 2's cache shard" eval 'grep -q "grpc-status: 0" <<<"$out"'
out=$(grpc_call "$node2_grpc" "$FARM/users/alice" cifs.v1.CacheShard/FindMissing)
check "alice's certificate does not (she could name any tier there)" \
  eval 'grep -q "grpc-status: 7" <<<"$out" && grep -q "only a cluster node" <<<"$out"'
out=$(grpc_call "$node2_grpc" "$FARM/node1/peer" cifs.v1.Farm/WhoAmI)
check "a node's peer certificate has no rights beyond the cache shard" eval 'grep -q "grpc-status: 7" <<<"$out"'
store_blobs() {  # store_blobs PORT: the blobs one node's own store holds
  curl -s --cacert "$FARM/ca/ca.crt" --cert "$FARM/users/alice/client.crt" --key "$FARM/users/alice/client.key" \
    "https://localhost:$1/metrics" | awk '$1 == "cifs_store_blobs" {print $2}'
}
declare -A blobs_before
for k in 1 2 3; do port=node${k}_http; blobs_before[$k]=$(store_blobs "${!port}"); done
BAZEL_WS=$TMP/bws
cp -r "$SRC_DIR/tests/data/sample_ws" "$BAZEL_WS"
cd "$BAZEL_WS"
bazel_via() {  # bazel_via NODE_GRPC_PORT ARGS...: alice's Bazel with the farm at one node
  local port=$1
  shift
  as_user alice "$CIFS" bazelrc | sed "s/localhost:$grpc_port/localhost:$port/g" >.cifs.bazelrc
  bazel_cmd "$@"
}
run bazel_via "$node1_grpc" test //lib:greet_test //app:hello_test
check "alice's Bazel builds and tests through node 1" eval '[[ $rc -eq 0 ]]' || echo "$out" | tail -n 20
spread=0
for k in 1 2 3; do
  port=node${k}_http
  [[ $(store_blobs "${!port}") -gt ${blobs_before[$k]} ]] && spread=$((spread + 1))
done
check "the blobs it uploaded are spread over all 3 nodes" eval '[[ $spread -eq 3 ]]'
bazel_cmd clean --expunge >/dev/null 2>&1
run bazel_via "$node2_grpc" test //lib:greet_test //app:hello_test
procs=$(grep -E "INFO: [0-9]+ processes?:" <<<"$out" | tail -n1)
others=$(sed 's/INFO: [0-9]* processes\?: //; s/\.$//' <<<"$procs" | tr ',' '\n' |
  grep -v -e "remote cache hit" -e "internal" | grep -c . || true)
check "a clean build through node 2 is all remote cache hits ($procs)" \
  eval '[[ $rc -eq 0 && $procs == *"remote cache hit"* && $others -eq 0 ]]'
cd /

# A live page on node 2 sees a workspace made through node 1.
ADMIN1=$TMP/admin-node1
mkdir -p "$ADMIN1" && cp "$FARM/users/admin/"* "$ADMIN1/"
sed -i "s/localhost:$grpc_port/localhost:$node1_grpc/" "$ADMIN1/config.toml"
sample_upstream "$TMP/upstream"
git clone -q --bare "$TMP/upstream" "$TMP/upstream.git"
CIFS_CONFIG=$ADMIN1/config.toml "$CIFS" admin repo add sample --url "$TMP/upstream.git" >/dev/null
curl -s -N --cacert "$FARM/ca/ca.crt" --cert "$FARM/users/alice/client.crt" --key "$FARM/users/alice/client.key" \
  "https://localhost:$node2_http/events/changes" >"$TMP/events" 2>/dev/null &
wait_until 5 grep -q "event: change" "$TMP/events"
before=$(grep -c "event: change" "$TMP/events")
run env CIFS_CONFIG="$ADMIN1/config.toml" "$CIFS" admin workspace create alice-ws --owner alice --repo sample
created=$(date +%s%N)
check "node 1 creates a workspace" eval '[[ $rc -eq 0 ]]'
seen_change() { [[ $(grep -c "event: change" "$TMP/events") -gt $before ]]; }
wait_until 5 seen_change
latency_ms=$((($(date +%s%N) - created) / 1000000))
check "a live page on node 2 hears of it within 1 s (took ${latency_ms} ms)" eval '[[ $latency_ms -le 1000 ]]'
run as_user alice "$CIFS" ws list
check "alice sees the workspace through the proxy" succeeded_with "alice-ws"

# The workspace lives on node 1 (made there); everything about it is routed.
check "node 1 holds alice-ws" test -d "$FARM/node1/workspaces/alice-ws"
check "... and no other node has a copy" eval '[[ ! -e $FARM/node2/workspaces/alice-ws && ! -e $FARM/node3/workspaces/alice-ws ]]'
run as_user admin "$CIFS" admin workspace create bob-ws --owner bob --repo sample --node node3
check "an admin places a workspace on node 3 through the proxy" eval '[[ $rc -eq 0 && -d $FARM/node3/workspaces/bob-ws ]]'
out=$(grpc_whoami "$node2_grpc" "$FARM/users/alice")  # warm: alice reaches node 2 directly
ADMIN2=$TMP/admin-node2
mkdir -p "$ADMIN2" && cp "$FARM/users/admin/"* "$ADMIN2/"
sed -i "s/localhost:$grpc_port/localhost:$node2_grpc/" "$ADMIN2/config.toml"
run env CIFS_CONFIG="$ADMIN2/config.toml" "$CIFS" admin workspace delete alice-ws
check "node 2, asked directly about node 1's workspace, says where it lives" failed_with "lives on node node1"

mkdir -p "$MNT"
run as_user alice "$CIFS" mount alice-ws "$MNT"
check "alice mounts her workspace through the proxy" succeeded_with "mounted"
printf '\n# reviewed in the cluster\n' >>"$MNT/app/BUILD"
cd "$MNT"
run as_user alice "$CIFS" test //app:all
check "alice's farm test through the proxy passes" eval '[[ $rc -eq 0 ]]'
check "... and ran on node 1 only" eval \
  '[[ -d $FARM/node1/bazel/roots/alice-ws && ! -e $FARM/node2/bazel/roots/alice-ws && ! -e $FARM/node3/bazel/roots/alice-ws ]]'
run as_user alice "$CIFS" pr submit -m "a change made in the cluster"
check "alice submits a PR through the proxy" succeeded_with "submitted #1"
cd /
pr_state() { as_user lee "$CIFS" pr list 2>/dev/null | awk -v n="$1" '$1 == n {print $2 "/" $6}'; }
validated() { [[ $(pr_state 1) == open/passed ]]; }
check "the PR is validated" wait_until 240 validated
check "... by node 1, its workspace's" test -d "$FARM/node1/bazel/roots/@validate-sample"
run as_user lee "$CIFS" pr approve 1
check "lee approves through the proxy" succeeded_with "approved #1"
run as_user lee "$CIFS" pr merge 1
check "lee queues it" succeeded_with "queued #1"
merged() { [[ $(pr_state 1) == merged/* ]]; }
check "it lands" wait_until 120 merged
check "... exactly once: one merge on the upstream, one node logged it" eval \
  '[[ $(git -C "$TMP/upstream.git" log --oneline --merges main | grep -c "#1") -eq 1 &&
     $(cat "$FARM"/node*/farmserver.log | grep -c "\"pr_merged\"") -eq 1 ]]'

# Ctrl-C through the proxy (HAProxy's abortonclose) stops the node's Bazel.
long_test_running() { pgrep -f "app/long_test" >/dev/null; }
no_long_test() { ! long_test_running; }
cd "$MNT"
set -m
CIFS_CONFIG="$FARM/users/alice/config.toml" "$CIFS" test //app:long_test >"$TMP/long.out" 2>&1 &
LONG=$!
set +m
cd /
check "the long test runs on the farm" wait_until 120 long_test_running
kill -INT $LONG
START_MS=$(date +%s%N)
wait_until 10 no_long_test
stop_ms=$((($(date +%s%N) - START_MS) / 1000000))
check "Ctrl-C of cifs test stops the farm's Bazel through the proxy within 5 s (took $stop_ms ms)" \
  eval 'no_long_test && [[ $stop_ms -le 5000 ]]'
wait $LONG 2>/dev/null

# A PR whose validation takes a while; node 1 is killed in the middle of it.
printf '#!/bin/sh\nsleep 15\n' >"$MNT/app/pause_test.sh"
chmod +x "$MNT/app/pause_test.sh"
printf '\nsh_test(\n    name = "pause_test",\n    srcs = ["pause_test.sh"],\n)\n' >>"$MNT/app/BUILD"
cd "$MNT"
run as_user alice "$CIFS" pr submit -m "a validation node 1 will not finish"
check "alice submits a second PR" succeeded_with "submitted #2"
cd /
run as_user alice "$CIFS" unmount "$MNT"
check "alice unmounts" succeeded_with "unmounted"
pause_test_running() { pgrep -f "app/pause_test" >/dev/null; }
check "node 1 validates it" wait_until 120 pause_test_running
kill -9 "$(cat "$FARM/node1/farmserver.pid")"
# The machine goes with it: every process of node 1's build uids too.
first=${node1_uids%-*} last=${node1_uids#*-}
ps -eo pid=,uid= | awk -v a="$first" -v b="$last" '$2 >= a && $2 <= b {print $1}' | xargs -r kill -9
validated2() { [[ $(pr_state 2) == open/passed ]]; }
check "another node takes it over and validates it" wait_until 240 validated2
check "... one node took it over" eval \
  '[[ $(cat "$FARM"/node2/farmserver.log "$FARM"/node3/farmserver.log | grep "\"pr_taken_over\"" | grep -c "\"number\":2") -eq 1 ]]'
# alice watches #2 on a page node 2 serves; lee approves it through node 3.
if [[ ! -d $SRC_DIR/tests/browser/node_modules/playwright-core ]]; then
  (cd "$SRC_DIR/tests/browser" && npm ci --no-audit --no-fund --loglevel=error) || echo "FAIL - npm ci"
fi
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
ARTIFACTS=${CIFS_ARTIFACTS_DIR:-$BUILD_DIR/test-artifacts}/cluster
mkdir -p "$ARTIFACTS"
LEE3=$TMP/lee-node3
mkdir -p "$LEE3" && cp "$FARM/users/lee/"* "$LEE3/"
sed -i "s/localhost:$grpc_port/localhost:$node3_grpc/" "$LEE3/config.toml"
SPKI="$(spki "$FARM/ca/server.crt"),$(spki "$FARM/node2/ca/server.crt")" \
  PAGE="https://localhost:$node2_http/prs/2" WATCHER_LINK=$(as_user alice "$CIFS" web login 2>/dev/null) \
  ARTIFACTS=$ARTIFACTS node "$SRC_DIR/tests/browser/cluster_page.mjs" >"$TMP/page.out" 2>&1 &
PAGE_PID=$!
page_ready() { grep -q "^ready" "$TMP/page.out" || ! kill -0 $PAGE_PID 2>/dev/null; }
wait_until 60 page_ready
check "alice's browser shows #2 on a page from node 2" grep -q "^ready" "$TMP/page.out" || cat "$TMP/page.out"
run env CIFS_CONFIG="$LEE3/config.toml" "$CIFS" pr approve 2
approved_ms=$(($(date +%s%N) / 1000000))
check "lee approves #2 through node 3" succeeded_with "approved #2"
wait $PAGE_PID
seen_ms=$(sed -n 's/^seen //p' "$TMP/page.out")
check "her page on node 2 shows the approval within 1 s (took $((${seen_ms:-0} - approved_ms)) ms)" \
  eval '[[ -n $seen_ms && $((seen_ms - approved_ms)) -le 1000 ]]' || cat "$TMP/page.out"
run as_user lee "$CIFS" pr merge 2
merged2() { [[ $(pr_state 2) == merged/* ]]; }
check "#2 lands without node 1" wait_until 120 merged2
check "... exactly once" eval \
  '[[ $(git -C "$TMP/upstream.git" log --oneline --merges main | grep -c "#2") -eq 1 &&
     $(cat "$FARM"/node*/farmserver.log | grep "\"pr_merged\"" | grep -c "\"number\":2") -eq 1 ]]'

# Node 1 is down: its share of the cache is missing, which costs misses, not
# a failed build.
cd "$BAZEL_WS"
bazel_cmd clean --expunge >/dev/null 2>&1
run bazel_via "$node3_grpc" test //lib:greet_test //app:hello_test
check "with node 1 down a clean build through node 3 still passes" eval '[[ $rc -eq 0 ]]' || echo "$out" | tail -n 20
bazel_cmd shutdown >/dev/null 2>&1
cd /

# PostgreSQL restarts under the nodes: they reconnect and carry on.
source "$SRC_DIR/scripts/lib/postgres.sh"
pg_stop "$FARM/pg" fast
pg_start "$FARM/pg"
lists_workspaces() {
  local i
  for i in 1 2 3; do as_user alice "$CIFS" ws list 2>&1 | grep -q alice-ws || return 1; done
}
check "after PostgreSQL restarted every node answers from it again" wait_until 10 lists_workspaces

finish
