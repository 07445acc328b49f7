#!/usr/bin/env bash
# A farm from an installed cifs, as an admin sets one up on a machine
# (docs/operations.md): `cmake --install` into a scratch prefix lays out the
# binaries, the Bazel kit, the systemd unit, an example config and the docs;
# the unit passes `systemd-analyze verify`; farmserver started the way the
# unit starts it, with a config file of the example's keys, serves a user
# whose farm build runs with the installed kit.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
PREFIX=$TMP/prefix
before_teardown() {
  [[ -n ${FARMSERVER:-} ]] && kill "$FARMSERVER" 2>/dev/null && wait "$FARMSERVER" 2>/dev/null
  true
}

run cmake --install "$BUILD_DIR" --prefix "$PREFIX"
check "cmake --install lays out cifs in a prefix" eval '[[ $rc -eq 0 ]]' || echo "$out" | tail -n 5
missing=""
for f in bin/cifs bin/farmserver bin/fsd bin/cifs-worker bin/dev-farm bin/cluster share/cifs/bazel-kit \
  share/cifs/farmserver.toml.example share/doc/cifs/operations.md share/doc/cifs/security.md \
  lib/systemd/system/cifs-farmserver.service; do
  [[ -e $PREFIX/$f ]] || missing+=" $f"
done
check "... binaries, the Bazel kit, the unit, the example config and the docs (missing:${missing:- none})" test -z "$missing"
UNIT=$PREFIX/lib/systemd/system/cifs-farmserver.service
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT")
check "the unit starts the installed farmserver with /etc/cifs/farmserver.toml" \
  test "$EXEC" = "$PREFIX/bin/farmserver --config /etc/cifs/farmserver.toml"
run systemd-analyze verify "$UNIT"
check "the unit passes systemd-analyze verify" eval '[[ $rc -eq 0 && -z $out ]]' || echo "$out"

# The admin's steps: a CA in the state directory, the config file, the
# service's command line, users.
FARM=$TMP/state
CIFS=$PREFIX/bin/cifs
run "$CIFS" admin ca init --farm-dir "$FARM"
check "the installed cifs makes the farm's CA" eval '[[ $rc -eq 0 && -f $FARM/ca/ca.crt ]]'
GRPC=$(free_port)
HTTP=$(free_port)
CONF=$TMP/farmserver.toml
sed -e "s|^state-dir = .*|state-dir = \"$FARM\"|" -e 's|^listen = .*|listen = "127.0.0.1"|' \
  -e "s|^grpc-port = .*|grpc-port = $GRPC|" -e "s|^http-port = .*|http-port = $HTTP|" \
  -e "s|^web-url = .*|web-url = \"https://localhost:$HTTP\"|" -e 's|^workers = .*|workers = 0|' \
  "$PREFIX/share/cifs/farmserver.toml.example" >"$CONF"
printf 'build-uids = "%s"\n' "$(shuf -i 900000-990000 -n 1 | awk '{print $1 "-" $1 + 99}')" >>"$CONF"
${EXEC/\/etc\/cifs\/farmserver.toml/$CONF} >"$TMP/farmserver.log" 2>&1 &
FARMSERVER=$!
up() { curl -s -o /dev/null --cacert "$FARM/ca/ca.crt" "https://localhost:$HTTP/healthz"; }
check "farmserver from the prefix, as the unit starts it, serves with the config file's ports" wait_until 30 up ||
  tail -n 5 "$TMP/farmserver.log"
for u in admin:admin alice:dev; do
  "$CIFS" admin user add "${u%%:*}" --role "${u##*:}" --farm-dir "$FARM" --farm "localhost:$GRPC" \
    --web "https://localhost:$HTTP" --out "$TMP/users/${u%%:*}" >/dev/null
done
export CIFS_CONFIG=$TMP/users/alice/config.toml
run "$CIFS" whoami
check "alice reaches it" succeeded_with "alice (dev)"
sample_upstream "$TMP/upstream"
CIFS_CONFIG=$TMP/users/admin/config.toml "$CIFS" admin repo add sample --url "$TMP/upstream" >/dev/null
CIFS_CONFIG=$TMP/users/admin/config.toml "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
run "$CIFS" build -w alice-ws //lib:greet
check "alice's farm build runs with the installed Bazel kit" eval '[[ $rc -eq 0 ]]' || echo "$out" | tail -n 10
check "... the one in the prefix" grep -q "$(realpath "$PREFIX/share/cifs/bazel-kit")" "$FARM/bazel/farm.bazelrc"
version=$("$CIFS" builds --json | jq -r '.[0].bazel_version')
check "the build's record names the farm's Bazel ($version)" eval '[[ $version == 4.2.3* ]]'
finish
