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
#   (NOTIFY), and the nodes carry on after PostgreSQL restarts.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
FARM=$TMP/cluster
before_teardown() {
  jobs -p | xargs -r kill 2>/dev/null || true
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
grpc_whoami() {  # grpc_whoami PORT CERT_USER_DIR [HEADER]: prints the response headers and trailers, then the body
  local port=$1 certs=$2
  shift 2
  curl -s --http2 --cacert "$FARM/ca/ca.crt" --cert "$certs/client.crt" --key "$certs/client.key" \
    -H "content-type: application/grpc" -H "te: trailers" "$@" --data-binary @"$TMP/empty.grpc" \
    "https://localhost:$port/cifs.v1.Farm/WhoAmI" -D - -o - | tr -d '\r' | tr -c '[:print:]\n' ' '
}
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
