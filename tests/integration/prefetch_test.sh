#!/usr/bin/env bash
# `cifs prefetch`: a subtree or a pattern made local in bulk, so that it
# reads with the farm gone; what another workspace of the repository fetched
# is not fetched again; a store smaller than the tree stays in its bound; a
# farm that stops answering fails the prefetch after the mount's timeout, one
# back in time lets it finish; Ctrl-C stops it; --background runs on; a cold
# read fills the page cache with the small files beside it; cold reads in
# three directories fetch their subtree by themselves, git's own reads in
# .git do not.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
start_farm || { echo "cannot start the dev farm"; exit 1; }

before_teardown() {
  kill -CONT "$(cat "$FARM/farmserver.pid" 2>/dev/null)" 2>/dev/null
  local m
  for m in "$TMP"/mnt*; do
    mountpoint -q "$m" 2>/dev/null && { as_user alice "$CIFS" unmount "$m" || fusermount3 -u -z "$m"; }
  done
  pkill -f "fsd --dir $TMP/" || true
}
alice() { as_user alice "$CIFS" "$@"; }
json() { alice status --json | jq -r --arg m "$1" ".mounts[] | select(.mountpoint == \$m) | $2"; }

# 1,200 small files in 40 directories, 3 files of 5 MiB (streamed), and
# copies of the same contents (fetched once).
UP=$TMP/upstream
for d in $(seq 1 40); do
  mkdir -p "$UP/src/d$d/sub"
  for f in $(seq 1 25); do printf 'file %s in %s\n' "$f" "$d" >"$UP/src/d$d/f$f.c"; done
  for f in $(seq 1 5); do printf 'header %s %s\n' "$f" "$d" >"$UP/src/d$d/sub/h$f.h"; done
done
mkdir -p "$UP/assets" "$UP/copies"
for i in 1 2 3; do head -c $((5 << 20)) /dev/urandom >"$UP/assets/big$i.bin"; done
cp -r "$UP/src/d1" "$UP/copies/d1"
mkdir -p "$UP/docs/a" "$UP/docs/b" && echo "doc a" >"$UP/docs/a/a.txt" && echo "doc b" >"$UP/docs/b/b.txt"
# More small files in one directory than one batch takes (256).
mkdir -p "$UP/many" && for f in $(seq -w 1 600); do echo "many $f" >"$UP/many/f$f.txt"; done
g init -q -b main "$UP" && g -C "$UP" add -A && g -C "$UP" commit -q -m tree
as_user admin "$CIFS" admin repo add tree --url "$UP" >/dev/null
for ws in ws1 ws2; do as_user admin "$CIFS" admin workspace create $ws --owner alice --repo tree >/dev/null; done
MNT=$TMP/mnt1
mkdir -p "$MNT" "$TMP/mnt2"
# What the whole workspace holds (with .git), counted on the farm: distinct
# non-empty contents (copies/ repeats src/d1) and their bytes.
WS1=$FARM/workspaces/ws1
CONTENTS=$(find "$WS1" -type f ! -empty -print0 | xargs -0 sha256sum | awk '{ print $1 }' | sort -u | wc -l)
TREE_CONTENTS=$(find "$WS1" -path "$WS1/.git" -prune -o -type f ! -empty -print0 | xargs -0 sha256sum |
  awk '{ print $1 }' | sort -u | wc -l)
run alice mount ws1 "$MNT" --timeout 3
check "alice mounts ws1 (farm timeout 3 s)" succeeded_with "mounted"

# --- a pattern, then the rest -------------------------------------------------
run as_user alice bash -c "cd '$MNT' && '$CIFS' prefetch 'src/*.h'"
check "a pattern prefetches only what matches: 200 headers" succeeded_with "prefetched src/\*.h: 200 files"
check "... and fetched about their size, nothing else ($(json "$MNT" .fetched_bytes) bytes)" \
  test "$(json "$MNT" .fetched_bytes)" -lt 8000
run alice prefetch "$MNT"
check "prefetching the whole mount names what it fetched ($CONTENTS files)" \
  contains "${out//,/}" "prefetched $MNT: $CONTENTS files"
check "... identical contents were fetched once (copies/ adds nothing)" \
  test "$(json "$MNT" .fetched_blobs)" -eq $CONTENTS
run alice prefetch "$MNT/src/d1/f1.c"
check "a single file can be named" succeeded_with "prefetched .*f1.c: 1 files"
run alice prefetch "$TMP"
check "a path outside any mount is refused" failed_with "is not inside a cifs mount"
run alice prefetch "$MNT/no/such/dir"
check "a missing path is named" failed_with "no/such/dir: no such file or directory"

# --- everything reads with the farm gone ---------------------------------------
kill -STOP "$(cat "$FARM/farmserver.pid")"
run timeout 60 bash -c "find '$MNT' -type f -print0 | xargs -0 cat | wc -c"
expected=$(find "$UP" -path "$UP/.git" -prune -o -type f -print0 | xargs -0 cat | wc -c)
check "every prefetched file reads with the farm not answering" \
  test "$out" -ge "$expected"
check "... byte for byte" cmp "$MNT/assets/big2.bin" "$UP/assets/big2.bin"

# --- a farm that does not answer -----------------------------------------------
kill -CONT "$(cat "$FARM/farmserver.pid")"
run alice mount ws2 "$TMP/mnt2" --timeout 3
check "alice mounts ws2 of the same repository" succeeded_with "mounted"
kill -STOP "$(cat "$FARM/farmserver.pid")"
start=$SECONDS
run alice prefetch "$TMP/mnt2"
check "a prefetch fails when the farm stops answering" failed_with "did not answer within 3 s"
check "... after the mount's timeout ($((SECONDS - start)) s)" test $((SECONDS - start)) -le 8
(sleep 1; kill -CONT "$(cat "$FARM/farmserver.pid")") &
run alice prefetch "$TMP/mnt2"
check "a farm back within the timeout lets the prefetch finish" succeeded_with "prefetched"
check "... and ws2 fetched only what differs from ws1 (its .git index): $(json "$TMP/mnt2" .fetched_bytes) bytes" \
  test "$(json "$TMP/mnt2" .fetched_bytes)" -lt 300000

# --- Ctrl-C and the background ---------------------------------------------------
alice unmount "$TMP/mnt2" >/dev/null
alice unmount "$MNT" >/dev/null
pkill -f "fsd --dir $TMP/" ; sleep 0.5
rm -rf "$XDG_CACHE_HOME"  # a fresh, empty local store
run alice mount ws1 "$MNT" --timeout 10
kill -STOP "$(cat "$FARM/farmserver.pid")"
# Started as a terminal would (job control on: SIGINT is not ignored), so
# `kill -INT` is a Ctrl-C.
set -m
CIFS_CONFIG="$FARM/users/alice/config.toml" "$CIFS" prefetch "$MNT" >"$TMP/ctrlc.out" 2>&1 &
pid=$!
set +m
sleep 1
start=$(date +%s%N)
kill -INT $pid
wait $pid
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "Ctrl-C stops a prefetch (exit $rc, $ms ms)" test $rc -eq 130 -a $ms -lt 2000
check "... and says so" grep -q "cancelled" "$TMP/ctrlc.out"
kill -CONT "$(cat "$FARM/farmserver.pid")"
run alice prefetch --background "$MNT/src"
check "--background returns at once" succeeded_with "in the background"
prefetch_done() { [[ $(json "$MNT" .prefetch.done) == true ]]; }
wait_until 20 prefetch_done
check "... and cifs status shows it done: 1,200 files" test "$(json "$MNT" .prefetch.files_done)" = 1200

# --- the guess: reads in three directories fetch the subtree holding them ---------
# A fresh fsd, so nothing is local. git status first: git reads a few of its
# own files in several directories of .git, which must not fetch the object
# store (15 MiB of it here: the three big files). A first status settles the
# index (entries written in the second of their files make git read those).
sleep 1.1
as_user alice git -C "$MNT" status >/dev/null
alice unmount "$MNT" >/dev/null
alice unmount "$TMP/mnt2" >/dev/null 2>&1
wait_until 10 bash -c "! pgrep -f 'fsd --dir $TMP/' >/dev/null"
rm -rf "$XDG_CACHE_HOME"
alice mount ws1 "$MNT" >/dev/null
run as_user alice git -C "$MNT" status --porcelain
check "a cold git status in a fresh mount works, and finds the tree clean" test "$rc" = 0 -a -z "$out"
sleep 1  # a guessed prefetch would have started by now
check "... without fetching the object store ($(json "$MNT" .fetched_bytes) bytes fetched)" \
  test "$(json "$MNT" .fetched_bytes)" -lt $((2 << 20))
# A cold read brings the small files beside it along, and hands those the
# kernel already knows (here from ls -l) to its page cache: reading one
# next asks fsd nothing.
as_user alice ls -l "$MNT/src/d5" >/dev/null
as_user alice cat "$MNT/src/d5/f1.c" >/dev/null
# Pages of a file in the kernel's page cache, and whether it has any.
cached_pages() { as_user alice fincore --noheadings --output PAGES "$1" | tr -d " "; }
in_page_cache() { [[ $(cached_pages "$1") -ge 1 ]]; }
wait_until 5 in_page_cache "$MNT/src/d5/f2.c"
check "a cold read hands the small files beside it to the kernel's page cache (src/d5/f2.c: $(cached_pages "$MNT/src/d5/f2.c") page, never read)" \
  in_page_cache "$MNT/src/d5/f2.c"
check "... holding their contents" cmp <(as_user alice cat "$MNT/src/d5/f2.c") "$UP/src/d5/f2.c"
as_user alice bash -c "echo appended >>'$MNT/src/d5/f2.c'"
check "... and a filled file written through the mount reads what was written" \
  cmp <(as_user alice cat "$MNT/src/d5/f2.c") <(cat "$UP/src/d5/f2.c"; echo appended)
as_user alice cat "$MNT/src/d1/f1.c" "$MNT/src/d2/f1.c" "$MNT/src/d3/sub/h1.h" >/dev/null
guessed() { [[ $(json "$MNT" '.prefetch.done // false') == true ]]; }
wait_until 20 guessed
check "cold reads in three directories fetch what holds them all in the background: src/, 1,200 files" \
  test "$(json "$MNT" .prefetch.files_done)" = 1200
run alice status
check "... shown by cifs status as done" succeeded_with "ok"
# Cold reads in three more directories elsewhere: the guess widens to the
# whole workspace, but reads outside .git say nothing of .git.
as_user alice cat "$MNT/docs/a/a.txt" "$MNT/docs/b/b.txt" "$MNT/assets/big1.bin" >/dev/null
widened() { [[ $(json "$MNT" .prefetch.done) == true && $(json "$MNT" .prefetch.files_total) != 1200 ]]; }
wait_until 20 widened
check "cold reads in three more directories fetch the workspace without its .git ($TREE_CONTENTS files)" \
  test "$(json "$MNT" .prefetch.files_total)" = "$TREE_CONTENTS"
# Many reads in .git are a walk (or a git log): .git is then fetched whole.
before=$(json "$MNT" .fetched_bytes)
as_user alice bash -c "find '$MNT/.git/objects' -type f | head -200 | xargs cat" >/dev/null
git_fetched() { (($(json "$MNT" .fetched_bytes) - before > (15 << 20))); }
wait_until 20 git_fetched
check "reading 200 of git's objects fetches the rest of .git in the background (the big files' 15 MiB too)" \
  git_fetched

# --- a store smaller than the tree ----------------------------------------------
alice unmount "$MNT" >/dev/null
pkill -f "fsd --dir $TMP/" ; sleep 0.5
rm -rf "$XDG_CACHE_HOME"
printf 'local_cache_limit = "8MiB"\n' >>"$FARM/users/alice/config.toml"
run alice mount ws1 "$MNT"
run alice prefetch "$MNT"
check "a prefetch bigger than the local store completes" succeeded_with "prefetched"
check "... and the store stays within its bound ($(alice status --json | jq .store_bytes) bytes)" \
  test "$(alice status --json | jq '.store_bytes <= .store_limit_bytes')" = true
check "... and every file still reads right" \
  cmp <(find "$MNT/assets" -type f | sort | xargs cat) <(find "$UP/assets" -type f | sort | xargs cat)

# --- a directory of more small files than one batch takes -------------------------
# Each batch takes the files not held yet: reading 600 in name order takes
# three calls, not one for every file past the first batch.
alice unmount "$MNT" >/dev/null
wait_until 10 bash -c "! pgrep -f 'fsd --dir $TMP/' >/dev/null"
rm -rf "$XDG_CACHE_HOME"
alice mount ws1 "$MNT" >/dev/null
run as_user alice bash -c "cat '$MNT'/many/f*.txt | md5sum"
check "a cold read of 600 small files in one directory gives their contents" \
  test "$out" = "$(cat "$UP"/many/f*.txt | md5sum)"
check "... in at most 4 fetch calls ($(json "$MNT" .fetch_calls), 256 files a batch)" \
  test "$(json "$MNT" .fetch_calls)" -le 4

# --- reads from the local store hand their neighbours to the kernel too -----------
# A fresh mount of a store holding everything (the kernel's cache is empty):
# after two files of a directory are read from the store, the others it
# holds go to the page cache.
alice unmount "$MNT" >/dev/null
wait_until 10 bash -c "! pgrep -f 'fsd --dir $TMP/' >/dev/null"
alice mount ws1 "$MNT" >/dev/null
alice prefetch "$MNT/src/d9" >/dev/null
as_user alice ls "$MNT/src/d9" >/dev/null
as_user alice cat "$MNT/src/d9/f1.c" "$MNT/src/d9/f2.c" >/dev/null
wait_until 5 in_page_cache "$MNT/src/d9/f3.c"
check "two reads from the local store hand the directory's other files to the page cache (src/d9/f3.c: $(cached_pages "$MNT/src/d9/f3.c") page, never read)" \
  in_page_cache "$MNT/src/d9/f3.c"
check "... holding their contents" cmp <(as_user alice cat "$MNT/src/d9/f3.c") "$UP/src/d9/f3.c"

# --- a blob damaged on disk between two runs of fsd --------------------------------
# The local store checks each blob against its hash on its first read after
# it opens: damaged bytes are never served, and the read fetches them again
# (fsd retries once; the kernel also retries a failed readahead by itself).
alice unmount "$MNT" >/dev/null
wait_until 10 bash -c "! pgrep -f 'fsd --dir $TMP/' >/dev/null"
PACK=$(grep -l -a "many 300" "$XDG_CACHE_HOME"/cifs/fsd-*/packs/*.pack | head -1)
AT=$(grep -obUa "many 300" "$PACK" | head -1 | cut -d: -f1)
printf 'X' | dd of="$PACK" bs=1 seek="$AT" conv=notrunc status=none
check "the test damaged a blob in fsd's store" grep -qa "Xany 300" "$PACK"
alice mount ws1 "$MNT" >/dev/null
run cat "$MNT/many/f300.txt"
check "a read of a blob damaged on disk gives the right bytes ($out)" test "$out" = "many 300"

finish
