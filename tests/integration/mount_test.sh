#!/usr/bin/env bash
# A workspace mounted with `cifs mount` behaves like a local directory and
# every change lands in the farm-side copy: fsx-style random operations, git,
# editors' save patterns, changes made on the farm side, and the faults (farm
# killed and restarted, fsd killed, someone else's workspace, bad mountpoints).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
FSX=$BUILD_DIR/tests/fsx
export XDG_CACHE_HOME=$TMP/cache  # the test's fsd daemons and stores stay in $TMP
start_farm || { echo "cannot start the dev farm"; exit 1; }

before_teardown() {
  local m
  for m in "$TMP"/mnt*; do
    mountpoint -q "$m" 2>/dev/null && { as_user alice "$CIFS" unmount "$m" || fusermount3 -u -z "$m"; }
  done
  for m in "$TMP"/mnt*; do mountpoint -q "$m" 2>/dev/null && as_user admin "$CIFS" unmount "$m"; done
  pkill -f "fsd --dir $TMP/" || true
}

alice() { as_user alice "$CIFS" "$@"; }
json() { alice status --json | jq -r --arg m "$MNT" ".mounts[] | select(.mountpoint == \$m) | $1"; }
wait_until() {  # wait_until SECONDS COMMAND...: polls every 20 ms
  local deadline=$((SECONDS + $1 + 1)) start
  shift
  start=$(date +%s%N)
  while ! "$@" 2>/dev/null; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.02
  done
  ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
}
within_ms() { [[ $ELAPSED_MS -lt $1 ]]; }

# An upstream with two branches.
UP=$TMP/upstream
g init -q -b main "$UP"
printf 'hello\n' >"$UP/README.md"
mkdir -p "$UP/src" && printf 'int main() { return 0; }\n' >"$UP/src/main.cc"
for i in $(seq 1 30); do printf 'file %s\n' "$i" >"$UP/src/f$i.txt"; done
# Larger than one reply of readdir: the kernel comes back for the rest.
mkdir "$UP/many" && for i in $(seq 1 1500); do printf '%s\n' "$i" >"$UP/many/entry-with-a-longish-name-$i.txt"; done
g -C "$UP" add -A && g -C "$UP" commit -q -m "first"
g -C "$UP" checkout -q -b feature
printf 'feature\n' >"$UP/src/feature.cc" && g -C "$UP" add -A && g -C "$UP" commit -q -m "feature"
g -C "$UP" checkout -q main
as_user admin "$CIFS" admin repo add sample --url "$UP" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
WS=$FARM/workspaces/alice-ws
MNT=$TMP/mnt
mkdir -p "$MNT" "$TMP/mnt-other"

# --- refusals ---------------------------------------------------------------
run alice mount no-such-ws "$MNT"
check "an unknown workspace is refused" failed_with "no workspace 'no-such-ws'"
run as_user bob "$CIFS" mount alice-ws "$MNT"
check "bob cannot mount alice's workspace" failed_with "belongs to alice"
check "... and the directory is left alone" test -z "$(ls -A "$MNT")"
run alice mount alice-ws "$TMP/no-such-dir"
check "a missing mountpoint is refused" failed_with "does not exist"
touch "$TMP/mnt-other/file"
run alice mount alice-ws "$TMP/mnt-other"
check "a non-empty mountpoint is refused" failed_with "is not empty"
rm "$TMP/mnt-other/file"
sed 's/^farm = .*/farm = '"'"'localhost:1'"'"'/' "$FARM/users/alice/config.toml" >"$FARM/users/alice/dead.toml"
run env CIFS_CONFIG="$FARM/users/alice/dead.toml" "$CIFS" mount alice-ws "$MNT"
check "a farm that does not answer is reported" failed_with "does not answer"

mkdir -p "$TMP/foreign-fsd" && chown nobody "$TMP/foreign-fsd"
run "$BUILD_DIR/fsd/fsd" --dir "$TMP/foreign-fsd" --config "$FARM/users/alice/config.toml"
check "fsd refuses a directory owned by someone else (its control socket would be theirs)" \
  failed_with "must be a directory owned by you"

# --- mount, read ------------------------------------------------------------
run alice mount --timeout 3 alice-ws "$MNT"
check "alice mounts her workspace" succeeded_with "mounted alice-ws at $MNT"
check "the mount shows the farm's files" cmp "$MNT/src/main.cc" "$WS/src/main.cc"
check "the whole tree reads the same as the farm copy" "$FSX" compare "$MNT/src" "$WS/src"
check "a directory of 1,500 entries lists every name once, sizes and all" \
  test "$(cd "$MNT/many" && find . -printf '%P %s\n' | sort)" = "$(cd "$WS/many" && find . -printf '%P %s\n' | sort)"
rm "$MNT/many/entry-with-a-longish-name-700.txt"
check "... and again after a removal in the middle" \
  test "$(ls -f "$MNT/many" | sort)" = "$(ls -f "$WS/many" | sort)"
check "... which the listing shows" test "$(ls "$MNT/many" | wc -l)" = 1499
git -C "$MNT" checkout -q -- many
run alice status
check "cifs status lists the mount as healthy" succeeded_with "alice-ws .*$MNT .*ok"
FSD_DIR=$(alice status --json | sed -n 's/.*"fsd_dir": "\(.*\)".*/\1/p')
check "fsd's directory (control socket, store) is private" test "$(stat -c %a "$FSD_DIR")" = 700
run alice mount alice-ws "$MNT"
check "mounting on a mount is refused" failed_with "already a cifs mount"
run as_user admin "$CIFS" mount alice-ws "$TMP/mnt-other"
check "an admin may mount anyone's workspace" succeeded_with "mounted"
run as_user admin "$CIFS" unmount "$TMP/mnt-other"
check "... and unmount it" succeeded_with "unmounted"

# --- random operations: mount vs native disk vs farm copy --------------------
NATIVE=$TMP/native
for seed in ${FSX_SEEDS:-11 12}; do  # FSX_SEEDS: more seeds when hunting a race
  rm -rf "$NATIVE" "$MNT/fsx" && mkdir "$NATIVE" "$MNT/fsx"
  check "fsx seed $seed: 2000 random ops give identical results in the mount and on disk" \
    "$FSX" run --seed $seed --ops 2000 "$NATIVE" "$MNT/fsx"
  check "fsx seed $seed: the farm-side copy is identical too" "$FSX" compare "$NATIVE" "$WS/fsx"
done
alice unmount "$MNT" >/dev/null && alice mount --timeout 3 alice-ws "$MNT" >/dev/null
check "after a remount (nothing cached in the kernel) the tree is still identical" "$FSX" compare "$NATIVE" "$MNT/fsx"
rm -rf "$MNT/fsx"
check "removing a tree through the mount removes it on the farm" test ! -e "$WS/fsx"

# --- a scan's lookups: answered by listing ahead -----------------------------
# Nothing in many/ is cached in the kernel since the remount. Two names
# looked up one by one (a git status, a build) have fsd list the directory
# into the kernel; the other names then need no round trip.
NAMES=$TMP/many-names
for i in $(seq 1 1500); do echo "many/entry-with-a-longish-name-$i.txt"; done >"$NAMES"
primed=$(json .primed_dirs)
(cd "$MNT" && stat -c %s many/entry-with-a-longish-name-1.txt many/entry-with-a-longish-name-2.txt >/dev/null)
wait_until 5 test "$(json .primed_dirs)" -gt "$primed"
check "two names looked up in a directory have fsd list it into the kernel" test "$(json .primed_dirs)" -gt "$primed"
lookups=$(json .lookups)
sizes=$(cd "$MNT" && xargs -a "$NAMES" stat -c '%n %s')
lookups=$(($(json .lookups) - lookups))
check "... and its 1,498 other names are answered by the kernel ($lookups lookups reached fsd)" test "$lookups" -lt 20
check "... with the farm copy's sizes" test "$sizes" = "$(cd "$WS" && xargs -a "$NAMES" stat -c '%n %s')"

# --- git ----------------------------------------------------------------------
printf 'int main() { return 1; }\n' >"$MNT/src/main.cc"
printf 'new\n' >"$MNT/src/new.txt"
rm "$MNT/src/f3.txt"
for cmd in "status" "status --porcelain" "diff" "log --oneline" "diff --stat HEAD"; do
  # shellcheck disable=SC2086
  check "git $cmd prints the same in the mount as on the farm" \
    test "$(git -C "$MNT" $cmd 2>&1)" = "$(git -C "$WS" $cmd 2>&1)"
done
check "git sees the edit" contains "$(git -C "$MNT" status --porcelain)" " M src/main.cc"
git -C "$MNT" checkout -q -- src/main.cc src/f3.txt && rm "$MNT/src/new.txt"
check "git checkout in the mount restores the farm copy" test -z "$(git -C "$WS" status --porcelain)"

# --- editors' save patterns ---------------------------------------------------
printf 'saved atomically\n' | "$FSX" save-atomic "$MNT/README.md"
check "write temp + fsync + rename over the original lands on the farm" \
  test "$(cat "$WS/README.md")" = "saved atomically"
check "... and no temporary file is left" test ! -e "$WS/README.md.tmp"
printf 'truncated and rewritten\n' | "$FSX" save-truncate "$MNT/src/f1.txt"
check "truncate-and-write lands byte-identical" cmp "$MNT/src/f1.txt" "$WS/src/f1.txt"
VIM=$(command -v vim || command -v vim.tiny || command -v vi)
if [[ -n $VIM ]]; then
  "$VIM" -Es -u NONE -i NONE -N -c 'set backup writebackup backupcopy=no backupdir=. backupskip=' \
    -c '%s/file 2/edited by vim/' -c 'wq' "$MNT/src/f2.txt"
  check "vim's backup-and-rename save leaves the farm copy byte-identical" cmp "$MNT/src/f2.txt" "$WS/src/f2.txt"
  check "... with vim's edit" grep -q "edited by vim" "$WS/src/f2.txt"
  check "... and vim's backup file on the farm too" cmp "$MNT/src/f2.txt~" "$WS/src/f2.txt~"
else
  check "vim is installed (scripts/install-deps)" false
fi
head -c 3000000 /dev/urandom >"$TMP/big.bin"
cp "$TMP/big.bin" "$MNT/big.bin"
check "a 3 MB file copied in arrives intact" cmp "$TMP/big.bin" "$WS/big.bin"

# --- changes made on the farm side ---------------------------------------------
cat "$MNT/src/f4.txt" >/dev/null
printf 'changed on the farm\n' >"$WS/src/f4.txt"
wait_until 2 grep -q "changed on the farm" "$MNT/src/f4.txt"
check "an edit made on the farm side shows in the mount within 1 s (${ELAPSED_MS:-?} ms)" within_ms 1000
git -C "$WS" checkout -q -- src/f4.txt
ls "$MNT/src" >/dev/null
g -C "$WS" branch feature "$(git -C "$FARM/repos/sample.git" rev-parse feature)"
g -C "$WS" checkout -q feature
wait_until 2 test -f "$MNT/src/feature.cc"
check "git checkout of another branch on the farm shows in the mount within 1 s (${ELAPSED_MS:-?} ms)" within_ms 1000
head_is_feature() { test "$(git -C "$MNT" rev-parse --abbrev-ref HEAD)" = feature; }
wait_until 2 head_is_feature
check "... and git in the mount agrees on the branch" head_is_feature
g -C "$WS" checkout -q main
wait_until 2 test ! -e "$MNT/src/feature.cc"
check "switching back removes the branch's file from the mount" test ! -e "$MNT/src/feature.cc"

# --- the farm killed and restarted while mounted -------------------------------
printf 'before the crash\n' >"$MNT/acked.txt"
cat "$MNT/src/main.cc" >/dev/null
"$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null 2>&1
kill -9 "$(cat "$FARM/farmserver.pid" 2>/dev/null)" 2>/dev/null
check "an acknowledged write is in the farm copy" test "$(cat "$WS/acked.txt")" = "before the crash"
check "cached content keeps reading while the farm is down" cmp "$MNT/src/main.cc" "$WS/src/main.cc"
start=$SECONDS
run sh -c "echo lost >>'$MNT/README.md'"
check "a write fails with EIO while the farm is down ($out)" failed_with "I/O error\|Input/output error"
check "... after a bounded wait ($((SECONDS - start)) s)" test $((SECONDS - start)) -le 10
check "... and changes nothing" test "$(cat "$WS/README.md")" = "saved atomically"
run alice status
check "cifs status reports the farm as unreachable" succeeded_with "farm unreachable"
start_farm
wait_until 10 sh -c "echo after >>'$MNT/README.md'"
check "after the farm restarts, the mount carries on without a remount" \
  test "$(tail -1 "$WS/README.md")" = "after"
printf 'made while reconnecting\n' >"$WS/src/f5.txt"
wait_until 3 grep -q "made while reconnecting" "$MNT/src/f5.txt"
check "farm-side changes show again after the restart" grep -q "made while reconnecting" "$MNT/src/f5.txt"

# --- fsd killed ----------------------------------------------------------------
printf 'written just before\n' >"$MNT/last.txt"
FSD_PID=$(alice status --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
kill -9 "$FSD_PID"
check "a write acknowledged just before fsd died is on the farm" test "$(cat "$WS/last.txt")" = "written just before"
run alice status
check "cifs status shows the dead mount" succeeded_with "dead"
run alice unmount "$MNT"
check "cifs unmount cleans up after a killed fsd" succeeded_with "unmounted"
check "... and the mountpoint is a plain directory again" test -z "$(ls -A "$MNT")"
run alice mount alice-ws "$MNT"
check "a new mount works" succeeded_with "mounted"
check "... and shows the latest farm copy" test "$(cat "$MNT/last.txt")" = "written just before"
run alice unmount "$MNT"
check "cifs unmount" succeeded_with "unmounted $MNT"
run alice unmount "$MNT"
check "unmounting a plain directory is refused" failed_with "not a cifs mount"
finish
