# Shared helpers for the shell integration tests. Source it; call
# test_setup BUILD_DIR first.

test_setup() {
  BUILD_DIR=$(cd "$1" && pwd)
  SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  CIFS="$BUILD_DIR/client/cifs"
  export CIFS_BUILD_DIR=$BUILD_DIR
  TMP=$(mktemp -d /tmp/cifs-test-XXXXXX)
  chmod 711 "$TMP"  # farm builds run under uids of their own that walk to the farm below it
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
  [[ -f $TMP/git-https/pid ]] && kill "$(cat "$TMP/git-https/pid")" 2>/dev/null
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

wait_until() {  # wait_until SECONDS COMMAND...: until COMMAND succeeds, or fails after SECONDS
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@" 2>/dev/null; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.1
  done
}

# run COMMAND...: keeps its output in $out and exit code in $rc for the next check.
run() { out=$("$@" 2>&1); rc=$?; }
succeeded_with() { [[ $rc -eq 0 ]] && grep -q -- "$1" <<<"$out"; }
failed_with() { [[ $rc -ne 0 ]] && grep -q -- "$1" <<<"$out"; }
# complete_words WORD...: what `cifs completion bash` offers for the last word
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _cifs
  echo "${COMPREPLY[*]}"
}
one_line() { [[ $(grep -c . <<<"$out") -eq 1 ]]; }  # the output is one line
g() { git -c user.name=Upstream -c user.email=up@example.com "$@"; }

# sample_upstream DIR: a git repository of the test sample in DIR, plus
# //app:long_test (manual), which runs until it is stopped.
sample_upstream() {
  local up=$1
  mkdir -p "$up" && cp -r "$SRC_DIR/tests/data/sample_ws/." "$up/"
  printf '#!/bin/sh\necho "long test starts"\nsleep 600\n' >"$up/app/long_test.sh"
  chmod +x "$up/app/long_test.sh"
  printf '\nsh_test(\n    name = "long_test",\n    srcs = ["long_test.sh"],\n    tags = ["manual"],\n)\n' >>"$up/app/BUILD"
  g init -q -b main "$up" && g -C "$up" add -A && g -C "$up" commit -q -m sample
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_git_https ROOT USER PASSWORD: serves the bare repositories under ROOT
# at https://localhost:$GIT_HTTPS_PORT/git/NAME.git with git http-backend
# behind lighttpd, TLS from a CA of its own ($GIT_HTTPS_CA) and basic auth as
# USER. https://localhost:$GIT_HTTPS_UNTRUSTED_PORT serves the same with a
# certificate no one trusts.
start_git_https() {
  local root=$1 user=$2 password=$3 d=$TMP/git-https
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$d"
  openssl req -x509 "${ec[@]}" -days 2 -subj /CN=git-test-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null &&
    openssl req "${ec[@]}" -subj /CN=localhost -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost\n' >"$d/ext" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
      -extfile "$d/ext" -out "$d/server.crt" 2>/dev/null &&
    openssl req -x509 "${ec[@]}" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
      -keyout "$d/untrusted.key" -out "$d/untrusted.crt" 2>/dev/null || return 1
  printf '%s:%s\n' "$user" "$password" >"$d/users"
  GIT_HTTPS_PORT=$(free_port)
  GIT_HTTPS_UNTRUSTED_PORT=$(free_port)
  GIT_HTTPS_CA=$d/ca.crt
  cat >"$d/lighttpd.conf" <<CONF
server.document-root = "$root"
server.bind = "127.0.0.1"
server.port = $GIT_HTTPS_PORT
server.pid-file = "$d/pid"
server.errorlog = "$d/error.log"
server.modules = ("mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi", "mod_openssl")
ssl.engine = "enable"
ssl.pemfile = "$d/server.crt"
ssl.privkey = "$d/server.key"
\$SERVER["socket"] == "127.0.0.1:$GIT_HTTPS_UNTRUSTED_PORT" {
  ssl.engine = "enable"
  ssl.pemfile = "$d/untrusted.crt"
  ssl.privkey = "$d/untrusted.key"
}
alias.url = ("/git" => "/usr/lib/git-core/git-http-backend")
cgi.assign = ("" => "")
setenv.set-environment = ("GIT_PROJECT_ROOT" => "$root", "GIT_HTTP_EXPORT_ALL" => "")
auth.backend = "plain"
auth.backend.plain.userfile = "$d/users"
auth.require = ("/git" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
CONF
  lighttpd -f "$d/lighttpd.conf" || return 1
  local _
  for _ in $(seq 1 50); do
    curl -s --cacert "$GIT_HTTPS_CA" -o /dev/null "https://localhost:$GIT_HTTPS_PORT/git/" && return 0
    sleep 0.1
  done
  return 1
}

finish() {
  echo "$((CHECKS - FAILURES)) passed, $FAILURES failed"
  [[ $FAILURES -eq 0 ]]
}

# FARM_FLAGS: extra farmserver flags a test wants on every start.
start_farm() { "$SRC_DIR/scripts/dev-farm" start "$FARM" ${FARM_FLAGS[@]+"${FARM_FLAGS[@]}"} >/dev/null; }

as_user() {  # as_user NAME COMMAND...
  local user=$1
  shift
  CIFS_CONFIG="$FARM/users/$user/config.toml" "$@"
}

bazel_cmd() {  # bazel with the project's rc and an output root inside the test dir
  bazel --output_user_root="$TMP/bazel-root" --bazelrc="$BAZEL_WS/.cifs.bazelrc" "$@"
}
