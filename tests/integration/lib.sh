# Shared helpers for the shell integration tests. Source it; call
# test_setup BUILD_DIR first.

test_setup() {
  BUILD_DIR=$(cd "$1" && pwd)
  SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  CIFS="$BUILD_DIR/client/cifs"
  export CIFS_BUILD_DIR=$BUILD_DIR
  TMP=$(mktemp -d /tmp/cifs-test-XXXXXX)
  FARM=$TMP/farm
  trap test_teardown EXIT
  FAILURES=0
  CHECKS=0
}

test_teardown() {
  local rc=$?
  # A test may define before_teardown (unmount what it mounted, say).
  if declare -F before_teardown >/dev/null; then before_teardown || true; fi
  if [[ -n ${BAZEL_WS:-} && -d ${BAZEL_WS:-} ]]; then
    (cd "$BAZEL_WS" && bazel_cmd shutdown >/dev/null 2>&1) || true
  fi
  "$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null 2>&1 || true
  if [[ -z ${CIFS_KEEP_TEST_DIRS:-} ]]; then rm -rf "$TMP"; else echo "kept $TMP"; fi
  exit $rc
}

check() {  # check DESCRIPTION COMMAND...: counts and reports one assertion
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then
    echo "ok   - $what"
  else
    echo "FAIL - $what"
    [[ -n ${out:-} ]] && sed 's/^/       | /' <<<"$out" | tail -5
    FAILURES=$((FAILURES + 1))
  fi
}

contains() { grep -q -- "$2" <<<"$1"; }

# run COMMAND...: keeps its output in $out and exit code in $rc for the next check.
run() { out=$("$@" 2>&1); rc=$?; }
succeeded_with() { [[ $rc -eq 0 ]] && grep -q -- "$1" <<<"$out"; }
failed_with() { [[ $rc -ne 0 ]] && grep -q -- "$1" <<<"$out"; }
g() { git -c user.name=Upstream -c user.email=up@example.com "$@"; }

finish() {
  echo "$((CHECKS - FAILURES)) passed, $FAILURES failed"
  [[ $FAILURES -eq 0 ]]
}

start_farm() { "$SRC_DIR/scripts/dev-farm" start "$FARM" >/dev/null; }

as_user() {  # as_user NAME COMMAND...
  local user=$1
  shift
  CIFS_CONFIG="$FARM/users/$user/config.toml" "$@"
}

bazel_cmd() {  # bazel with the project's rc and an output root inside the test dir
  bazel --output_user_root="$TMP/bazel-root" --bazelrc="$BAZEL_WS/.cifs.bazelrc" "$@"
}
