#!/usr/bin/env bash
# The cifs CLI, farmserver and dev-farm as a user meets them: help, clear
# one-line errors, exit codes, clean shutdown.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
FARMSERVER=$BUILD_DIR/farmserver/farmserver


run "$CIFS" --help
check "cifs --help exits 0 and lists commands" succeeded_with bazelrc
for sub in "admin --help" "admin ca init --help" "admin user add --help" "admin user revoke --help" \
           "builds --help" "logs --help" "bazelrc --help" "whoami --help"; do
  run "$CIFS" $sub
  check "cifs $sub exits 0" test "$rc" -eq 0
done
run "$CIFS"
check "cifs without a command is a usage error: exit 2, one line" eval '[[ $rc -eq 2 ]] && one_line'
run "$CIFS" pr merge
check "a missing argument is a usage error: exit 2, one line naming it" \
  eval '[[ $rc -eq 2 ]] && one_line && grep -q "N is required" <<<"$out"'
run "$CIFS" whoami --no-such-flag
check "an unknown flag is a usage error: exit 2, one line naming it" \
  eval '[[ $rc -eq 2 ]] && one_line && grep -q -- "--no-such-flag" <<<"$out"'
# Completion, from the command tree itself (no farm needed for this part).
source <("$CIFS" completion bash)
check "completion offers subcommands" test "$(complete_words cifs pr s)" = "submit show"
check "... a subcommand's flags" test "$(complete_words cifs pr submit --d)" = "--dry-run"
check "... nested subcommands" test "$(complete_words cifs admin ca "")" = "init server-cert"
check "... nothing after -- (Bazel's flags)" test -z "$(complete_words cifs build //app:all -- --c)"
run "$CIFS" completion zsh
check "completion for an unknown shell is a usage error" eval '[[ $rc -eq 2 ]] && one_line'
run "$FARMSERVER" --help
check "farmserver --help exits 0 and names --state-dir" succeeded_with --state-dir
run "$FARMSERVER"
check "farmserver without --state-dir is a usage error: exit 2, one line" eval '[[ $rc -eq 2 ]] && one_line'
run "$FARMSERVER" --state-dir "$TMP/empty" --grpc-port 0 --http-port 0
check "farmserver without a CA says how to make one" failed_with "cifs admin ca init"

run env CIFS_CONFIG="$TMP/nope.toml" "$CIFS" builds
check "no config: exit 1" test "$rc" -eq 1
check "no config: one clear line" one_line
check "no config: says what is missing" failed_with "no client config"

start_farm || { echo "cannot start the dev farm"; exit 1; }
run "$CIFS" admin ca init --farm-dir "$FARM"
check "ca init refuses to replace an existing CA" failed_with --force
run "$CIFS" admin user add carol --role root --farm-dir "$FARM"
check "unknown role is refused" failed_with "unknown role"
run "$CIFS" admin user add ../evil --role dev --farm-dir "$FARM"
check "a user name with a path is refused" test "$rc" -ne 0
check "... and nothing was written outside users/" test ! -e "$FARM/evil"
run as_user alice "$CIFS" whoami
check "whoami as alice" succeeded_with "alice (dev)"
run as_user lee "$CIFS" whoami
check "whoami as lee says lead" succeeded_with "lee (lead)"
run as_user alice "$CIFS" builds --json
check "no builds yet: an empty JSON list" test "$out" = "[]"
run as_user alice "$CIFS" logs no-such-build
check "logs of an unknown build fails clearly" failed_with "no build"
run as_user alice "$CIFS" admin user revoke bob
check "a dev cannot revoke" failed_with "needs admin"
run as_user admin "$CIFS" admin user revoke admin
check "an admin cannot lock themselves out" test "$rc" -eq 1

u=$FARM/users/admin
http=$(jq .http_port "$FARM/ready.json")
run curl -sS --fail --cacert "$FARM/ca/ca.crt" --cert "$u/client.crt" --key "$u/client.key" "https://localhost:$http/metrics"
check "metrics are served over mutual TLS" succeeded_with cifs_store_blobs

# Installed with the project, the kit is found next to the binaries.
run cmake --install "$BUILD_DIR" --prefix "$TMP/prefix"
check "cmake --install works" test "$rc" -eq 0
run as_user alice "$TMP/prefix/bin/cifs" bazelrc
check "installed cifs uses the installed offline kit" succeeded_with "$TMP/prefix/share/cifs/bazel-kit/jni"
check "the installed kit holds the TLS library" test -f "$TMP/prefix/share/cifs/bazel-kit/jni/libnetty_tcnative.so"
run env CIFS_BUILD_DIR=/nonexistent "$TMP/prefix/bin/dev-farm" status "$FARM"
check "installed dev-farm sees the running farm" succeeded_with running

"$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null
check "farmserver logged a clean stop" grep -q '"event":"stopped"' "$FARM/farmserver.log"
check "farm logs are JSON lines" bash -c "head -n1 '$FARM/farmserver.log' | jq -e .event >/dev/null"
run as_user alice "$CIFS" whoami
check "farm down: one clear sentence" failed_with "does not answer"
check "farm down: on one line" one_line

finish
