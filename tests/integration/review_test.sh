#!/usr/bin/env bash
# Reviewing a pull request as a lead does: lee reads what alice's PR changes
# (files with counts, the unified diff of the proposed merge, a rename, a
# binary file named and not shown, a file with an escape sequence and bytes
# that are not UTF-8 shown safely), comments on a line, alice pushes a new
# revision that changes that line, lee reads only what changed since and
# sees his comment marked outdated (the revision conflicts with main: its
# diff is against the merge base), then approves. The same over REST.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache
MNT=$TMP/mnt
before_teardown() {
  cd "$TMP"
  mountpoint -q "$MNT" 2>/dev/null && { as_user alice "$CIFS" unmount "$MNT" || fusermount3 -u -z "$MNT"; }
  pkill -f "fsd --dir $TMP/" || true
}
alice() { as_user alice "$CIFS" "$@"; }
lee() { as_user lee "$CIFS" "$@"; }
validation_of() {
  lee pr show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revisions"][-1]["validation"]["state"])'
}
validated() { [[ ! $(validation_of "$1") =~ ^(pending|running)$ ]]; }

sample_upstream "$TMP/upstream"
printf 'first\nsecond\nthird\n' >"$TMP/upstream/notes.txt"
mkdir -p "$TMP/upstream/docs" && seq 1 20 >"$TMP/upstream/docs/readme.txt"
g -C "$TMP/upstream" add -A && g -C "$TMP/upstream" commit -q -m notes
g clone -q --bare "$TMP/upstream" "$TMP/up.git"
start_farm || { echo "cannot start the dev farm"; exit 1; }
as_user admin "$CIFS" admin repo add sample --url "file://$TMP/up.git" >/dev/null
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
mkdir -p "$MNT"
alice mount alice-ws "$MNT" >/dev/null
cd "$MNT"

# Revision 1: an edit, a rename, a binary file, and a hostile one.
sed -i 's/^second$/second, reworded/' notes.txt
printf '\n# reviewed\n' >>app/BUILD
mv docs/readme.txt docs/README.txt
head -c 4096 /dev/urandom >data.bin
seq 1 60000 >big.txt  # 339 KiB of text: more than the farm shows of one file
# A test that takes a while: lee reads the diff before the validation ends.
mkdir -p wait && printf '#!/bin/sh\nsleep 10\n' >wait/wait_test.sh && chmod +x wait/wait_test.sh
printf 'sh_test(name = "wait_test", srcs = ["wait_test.sh"])\n' >wait/BUILD
printf 'title \033]0;pwned\007 and \033[2J cleared\nbad bytes: \xff\xfe end\n' >hostile.txt
run alice pr submit -m "Reword the notes"
check "alice submits #1" succeeded_with "submitted #1 revision 1"
cd /

wait_until 180 validated 1
run lee pr diff 1 --stat
check "--stat lists every file with its kind and counts" eval \
  '[[ $rc -eq 0 && $out == *"notes.txt | modified +1 -1"* && $out == *"app/BUILD | modified +2 -0"* ]]' ||
  echo "$out"
check "... a rename as a rename" contains "$out" "docs/readme.txt => docs/README.txt | renamed"
check "... a binary file as binary" contains "$out" "data.bin | added binary"
check "... against the tip it was validated on" contains "$out" "the proposed merge against the tip of main"
run lee pr diff 1
check "the diff shows the changed lines (plain when piped)" eval \
  '[[ $out == *"-second"* && $out == *"+second, reworded"* && $out == *"@@ "* && $out != *$'"'"'\033[3'"'"'* ]]' ||
  echo "$out" | head -n 30
check "... names the binary file without showing it" contains "$out" "(binary file, not shown)"
check "... counts all of a huge file but shows its diff cut, saying so" eval \
  '[[ $out == *"big.txt | added +60000 -0"* && $out == *"+30000"* && $out != *"+59999"* &&
     $out == *"(cut here: the file'"'"'s diff is larger than the farm shows)"* ]]'
check "... and replaces bytes that are not UTF-8" contains "$out" "bad bytes: �� end"
# On a terminal: coloured, and the file's escape sequences cannot act.
script -q -e -c "CIFS_CONFIG=$FARM/users/lee/config.toml $CIFS pr diff 1" "$TMP/tty.out" >/dev/null 2>&1
check "on a terminal the diff is coloured" grep -q $'\033\[32m+second, reworded' "$TMP/tty.out"
check "... and the file's escape sequences are shown as ^[, not sent" eval \
  'grep -q "title ^\[\]0;pwned^G and ^\[\[2J cleared" "$TMP/tty.out" && ! grep -q $'"'"'\033\]0;pwned'"'"' "$TMP/tty.out"'

# A comment on line 2 of notes.txt; refusals name the cause.
run lee pr comment 1 notes.txt:2 -m "why reword this?"
check "lee comments on a line" succeeded_with "commented on #1 (revision 1) at notes.txt:2"
run lee pr comment 1 notes.txt:99 -m "no such line"
check "a comment past the end of the file is refused, saying why" failed_with "notes.txt has no line 99"
run lee pr comment 1 ../etc/passwd:1 -m "escape"
check "... and one on a path outside the tree" failed_with "comment path"
run lee pr comment 1 notes.txt -m "x"
check "... and a location that is not PATH:LINE (usage error, exit 2)" eval '[[ $rc -eq 2 ]]'
run lee pr show 1
check "pr show lists the line comment" contains "$out" "notes.txt:2: why reword this?"

# Revision 2 changes the commented line again and adds a file; meanwhile
# main changed that line too, so revision 2 does not merge.
g clone -q "$TMP/up.git" "$TMP/other"
sed -i 's/^second$/second, upstream/' "$TMP/other/notes.txt"
g -C "$TMP/other" commit -q -am "upstream rewords too" && g -C "$TMP/other" push -q origin main
cd "$MNT"
sed -i 's/^second, reworded$/second, reworded twice/' notes.txt
printf 'new\n' >extra.txt
run alice pr submit
check "alice submits revision 2" succeeded_with "submitted #1 revision 2"
cd /
wait_until 180 validated 1
run lee pr diff 1 --stat
check "a revision that conflicts with its target is shown against the merge base" eval \
  '[[ $rc -eq 0 && $out == *"merge base with main"* && $out == *"extra.txt | added"* ]]' || echo "$out"
run lee pr diff 1 --since 1
check "--since 1 shows only what changed since lee's review" eval \
  '[[ $rc -eq 0 && $out == *"extra.txt | added +1 -0"* && $out == *"+second, reworded twice"* &&
     $out != *"app/BUILD"* && $out != *"data.bin"* ]]' || echo "$out"
run lee pr diff 1 --since 2
check "--since must name an earlier revision" failed_with "earlier revision than 2"
run lee pr show 1
check "lee's comment is kept, marked outdated" contains "$out" "notes.txt:2 (outdated): why reword this?"
run lee pr approve 1
check "lee approves revision 2" succeeded_with "approved #1 (revision 2)"

# REST: the same diff as JSON (the gateway serves every PullRequests method).
port=$(jq -r .http_port "$FARM/ready.json")
rest() {  # rest USER METHOD JSON
  curl -sS --cacert "$FARM/ca/ca.crt" --cert "$FARM/users/$1/client.crt" --key "$FARM/users/$1/client.key" \
    -H 'content-type: application/json' -d "$3" "https://localhost:$port/api/v1/PullRequests/$2"
}
out=$(rest bob GetDiff '{"number": 1, "since": 1}')
check "REST GetDiff answers the files as JSON" eval \
  'jq -e ".files | map(.path) | index(\"extra.txt\") != null" <<<"$out" >/dev/null' || echo "$out" | head -c 400
out=$(rest bob GetDiff '{"number": 1, "revision": 7}')
check "... and a revision that does not exist is a 400 with the reason" eval \
  'jq -e ".error.message | test(\"revisions 1 to 2\")" <<<"$out" >/dev/null' || echo "$out"
finish
