#!/usr/bin/env bash
# Corners of POSIX where a mount must behave as the local disk does: each
# command runs in the mount and in a plain directory, and both must print the
# same (umask, files still open after rm or an editor's rename over them,
# times before 1970, paths longer than PATH_MAX, sparse files' blocks).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
start_farm || { echo "cannot start the dev farm"; exit 1; }

before_teardown() {
  mountpoint -q "$MNT" 2>/dev/null && { as_user alice "$CIFS" unmount "$MNT" || fusermount3 -u -z "$MNT"; }
  pkill -f "fsd --dir $TMP/" || true
}

sample_upstream "$TMP/upstream"
as_user admin "$CIFS" admin repo add sample --url "$TMP/upstream" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
WS=$FARM/workspaces/alice-ws
MNT=$TMP/mnt
NATIVE=$TMP/native
mkdir -p "$MNT" "$NATIVE"
run as_user alice "$CIFS" mount alice-ws "$MNT"
check "alice mounts her workspace" succeeded_with "mounted"

# same SCRIPT: runs SCRIPT in a fresh directory of the mount and of the
# native disk; `out` gets the mount's output, `native` the disk's.
same() {
  local name=t$((++CASE))
  mkdir "$MNT/$name" "$NATIVE/$name"
  native=$(cd "$NATIVE/$name" && bash -c "$1" 2>&1)
  out=$(cd "$MNT/$name" && bash -c "$1" 2>&1)
  [[ "$out" == "$native" ]] || { echo "    mount:  $out"; echo "    native: $native"; return 1; }
}
CASE=0

# --- umask -------------------------------------------------------------------
check "umask 002 gives 664 files and 775 directories, as on disk" \
  same 'umask 002; touch f; mkdir d; stat -c "%n %a" f d'
check "... on the farm too (its own umask is not applied again)" \
  test "$(stat -c %a "$WS/t$CASE/f") $(stat -c %a "$WS/t$CASE/d")" = "664 775"
check "umask 077 gives 600 and 700" same 'umask 077; echo x > f; mkdir d; stat -c "%n %a" f d'
check "open(O_CREAT) of an existing file keeps its mode" same 'umask 022; touch f; chmod 640 f; umask 0; touch f; stat -c %a f'

# --- files still open after their name goes -----------------------------------
check "a file written, opened, then removed is still readable, with st_nlink 0" \
  same 'echo data > f; exec 3<f; rm f; cat <&3; stat -L -c "links %h size %s" /dev/fd/3; ls'
check "a reader keeps the old contents when an editor saves by rename over the file" \
  same 'echo old > f; exec 3<f; echo new > f.new; mv f.new f; cat <&3; cat f'
check "a large file, opened and removed, reads whole (3 MiB)" \
  same 'head -c 3145728 /dev/zero | tr "\0" a > big; exec 3<big; rm big; wc -c <&3'
printf 'line 1\nline 2\n' >"$WS/from-farm.txt"
wait_until 5 test -e "$MNT/from-farm.txt"
check "a file made on the farm, read in part, then removed by an editor's rename, reads to its end" \
  bash -c "cd '$MNT' && exec 3<from-farm.txt && read -r first <&3 && echo new >f.new && mv f.new from-farm.txt &&
           test \"\$first \$(cat <&3)\" = 'line 1 line 2'"
check "... and the new contents are on the farm" test "$(cat "$WS/from-farm.txt")" = new
check "a removed file that nobody holds open is gone" same 'echo x > f; rm f; cat f'
# Made on the farm and never read through the mount: its bytes are only there
# (1.4 MB: not one of the small files a directory's first reads bring along).
for f in farm-a farm-b; do head -c 1048576 /dev/urandom | base64 >"$WS/$f.txt" && cp "$WS/$f.txt" "$TMP/$f.expected"; done
wait_until 5 test -e "$MNT/farm-b.txt"
check "a file made on the farm, opened but never read, then removed, reads whole" \
  bash -c "cd '$MNT' && exec 3<farm-a.txt && rm farm-a.txt && cmp - '$TMP/farm-a.expected' <&3"
check "... and when an editor's rename replaces it before any read" \
  bash -c "cd '$MNT' && exec 3<farm-b.txt && echo new >n && mv n farm-b.txt && cmp - '$TMP/farm-b.expected' <&3 &&
           test \"\$(cat farm-b.txt)\" = new"

# --- times -----------------------------------------------------------------------
check "touch -d 1960 sets 1960" same "touch -d '1960-01-01 12:00:00.25 UTC' f; stat -c '%Y %y' f"
check "... on the farm too" test "$(stat -c %Y "$WS/t$CASE/f")" = -315576000
check "touch -d 1969-12-31 23:59:59.5 (just before the epoch)" \
  same "touch -d '1969-12-31 23:59:59.5 UTC' f; stat -c '%Y %y' f"
check "touch -m sets now, not 1970" same 'touch -d "2001-01-01 UTC" f; touch -m f; test $(stat -c %Y f) -gt 1700000000 && echo recent'

# --- long paths ----------------------------------------------------------------
# 20 levels of 250-byte names: 5,020 bytes, past PATH_MAX (4,096).
deep='long=$(printf "%0250d" 0); for i in $(seq 1 20); do mkdir "$long$i" && cd "$long$i" || exit 1; done
echo deep > leaf; cat leaf; ls; mv leaf leaf2; cat leaf2; rm leaf2; echo x > keep; ls'
check "a path longer than 4,096 bytes works, as on disk" same "$deep"
check "... and the file is on the farm" \
  test "$(find "$WS/t$CASE" -name keep -type f -execdir cat {} \;)" = x

# --- blocks ----------------------------------------------------------------------
check "du of a sparse file is 0, as on disk" same 'truncate -s 100M s; du -k s; stat -c "%s" s'
check "du of a 1 MiB file written with dd is 1024 KiB" \
  same 'dd if=/dev/zero of=w bs=1M count=1 status=none; du -k w'

finish
