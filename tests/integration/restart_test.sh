#!/usr/bin/env bash
# Restarts race nothing: a farm killed with kill -9 and started again at once
# always comes up (its content store's LOCK may still be held by the dying
# process); `cifs mount` right after `cifs unmount`, and right after its fsd
# was killed, always works; an operation in flight while the farm restarts
# completes once the farm is back within the mount's timeout, instead of
# failing with EIO. CYCLES (default 100) sets how many of each, INFLIGHT
# (default 30) how many writes in flight.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
CYCLES=${CYCLES:-100}
export XDG_CACHE_HOME=$TMP/cache
start_farm || { echo "cannot start the dev farm"; exit 1; }
MNT=$TMP/mnt
mkdir -p "$MNT"
before_teardown() {
  local m
  for m in "$TMP/mnt" "$TMP/mnt2"; do
    mountpoint -q "$m" 2>/dev/null && { as_user alice "$CIFS" unmount "$m" || fusermount3 -u -z "$m"; }
  done
  pkill -f "fsd --dir $TMP/" || true
}
alice() { as_user alice "$CIFS" "$@"; }
# A series of cycles: how many failed, and the first failure's output.
tally_reset() { failed=0 first=""; }
tally_fail() { failed=$((failed + 1)); [[ -n $first ]] || first="cycle $1: $out"; }
tally() { echo "$failed failed${first:+; $first}"; }

UP=$TMP/upstream
sample_upstream "$UP"
g clone -q --bare "$UP" "$TMP/up.git"
as_user admin "$CIFS" admin repo add sample --url "file://$TMP/up.git" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
WS=$FARM/workspaces/alice-ws

# --- the farm: kill -9, start again at once ----------------------------------------
tally_reset
# kill -9 returns before the process is gone, and until it is, dev-farm
# rightly refuses to start a second farm on its directory: start as soon as
# it is gone (a zombie or no process). A zombie has let go of its LOCK and
# ports; ContentStoreTest covers a LOCK still held while the store opens.
gone() { ! kill -0 "$1" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
for i in $(seq 1 "$CYCLES"); do
  pid=$(cat "$FARM/farmserver.pid")
  kill -9 "$pid" 2>/dev/null
  for _ in $(seq 1 250); do gone "$pid" && break; sleep 0.02; done
  if ! out=$("$SRC_DIR/scripts/dev-farm" start "$FARM" 2>&1) || ! alice ws list >/dev/null 2>&1; then
    tally_fail "$i"
  fi
done
check "$CYCLES kill -9/start cycles of the farm: all came up and answered ($(tally))" \
  test "$failed" = 0

# --- mounts: unmount then mount at once; fsd killed then mount at once -----------
alice mount alice-ws "$MNT" >/dev/null
tally_reset
for i in $(seq 1 "$CYCLES"); do
  if ! out=$(alice unmount "$MNT" 2>&1) || mountpoint -q "$MNT"; then
    tally_fail "$i"
    # One failure is counted once: the next cycle starts from a mount again.
    mountpoint -q "$MNT" || alice mount alice-ws "$MNT" >/dev/null 2>&1
    continue
  fi
  if ! out=$(alice mount alice-ws "$MNT" 2>&1) || ! test -f "$MNT/app/BUILD"; then
    tally_fail "$i"
    mountpoint -q "$MNT" || alice mount alice-ws "$MNT" >/dev/null 2>&1
  fi
done
check "$CYCLES unmount/mount cycles: every mount worked ($(tally))" test "$failed" = 0
# An fsd killed under its mount: a mount elsewhere right after starts a fresh
# one (the dying one may still hold the socket), and the dead mount unmounts.
MNT2=$TMP/mnt2
mkdir -p "$MNT2"
tally_reset
for i in $(seq 1 "$CYCLES"); do
  pid=$(alice status --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p' | head -1)
  [[ -n $pid ]] && kill -9 "$pid"
  if ! out=$(alice mount alice-ws "$MNT2" 2>&1) || ! test -f "$MNT2/app/BUILD" ||
     ! out=$(alice unmount "$MNT" 2>&1) || mountpoint -q "$MNT"; then
    tally_fail "$i"
  fi
  t=$MNT; MNT=$MNT2; MNT2=$t
done
check "$CYCLES fsd kill -9 cycles: a mount right after always worked, the dead one unmounted ($(tally))" \
  test "$failed" = 0
test -f "$MNT/app/BUILD" || alice mount alice-ws "$MNT" >/dev/null

# --- an operation in flight while the farm restarts --------------------------------
tally_reset
for i in $(seq 1 ${INFLIGHT:-30}); do
  kill -9 "$(cat "$FARM/farmserver.pid")"
  (sleep 1; "$SRC_DIR/scripts/dev-farm" start "$FARM" >/dev/null 2>&1) &
  if ! out=$(sh -c "echo line $i >>'$MNT/inflight.txt'" 2>&1); then
    tally_fail "$i"
  fi
  wait
done
check "a write made while the farm restarts (back within 1 s) completes, ${INFLIGHT:-30} of ${INFLIGHT:-30} ($(tally))" \
  test "$failed" = 0
check "... and every line landed on the farm" test "$(grep -c '^line' "$WS/inflight.txt")" = ${INFLIGHT:-30}

# --- a farm away for longer than the timeout: EIO, not much past it ------------------
alice unmount "$MNT" >/dev/null
alice mount --timeout 3 alice-ws "$MNT" >/dev/null
pid=$(cat "$FARM/farmserver.pid")
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done  # gone, not dying
start=$(date +%s%N)
run sh -c "echo late >>'$MNT/inflight.txt'"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "with the farm gone, a write fails with EIO ($out)" failed_with "I/O error\|Input/output error"
check "... within the 3 s timeout and a little ($ms ms)" test "$ms" -le 4500
"$SRC_DIR/scripts/dev-farm" start "$FARM" >/dev/null

# --- a clean restart keeps the farm's file hashes, and trusts none that changed ------
alice unmount "$MNT" >/dev/null
# Its fsd saw the farm go away: its channel may wait up to a second before it
# tries again, and a mount must wait for that rather than fail.
run alice mount alice-ws "$MNT"
check "a mount right after the farm came back works ($out)" succeeded_with mounted
printf 'kept hash A\n' >"$MNT/kept.txt"
sleep 2.1  # a file changed within 2 s is hashed every time (git's racy case), never kept
alice unmount "$MNT" >/dev/null
alice mount alice-ws "$MNT" >/dev/null
check "a file reads through a fresh mount" test "$(cat "$MNT/kept.txt")" = "kept hash A"
alice unmount "$MNT" >/dev/null
"$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null
check "a farm stopped cleanly keeps its file hashes" test -s "$FARM/file-hashes"
# Changed while the farm was down, same size and mtime: only its ctime moved.
touch -r "$WS/kept.txt" "$TMP/mtime-ref"
printf 'kept hash B\n' | dd of="$WS/kept.txt" conv=notrunc status=none
touch -r "$TMP/mtime-ref" "$WS/kept.txt"
"$SRC_DIR/scripts/dev-farm" start "$FARM" >/dev/null
restored=$(grep -o '"entries":[0-9]*,"event":"file_hashes_restored"' "$FARM/farmserver.log" | tail -1 | grep -o '[0-9]*')
check "... and takes them back when it starts (${restored:-none} entries)" test "${restored:-0}" -gt 0
alice mount alice-ws "$MNT" >/dev/null
check "a file changed while the farm was down reads as changed, not as its kept hash said" \
  test "$(cat "$MNT/kept.txt")" = "kept hash B"
finish
