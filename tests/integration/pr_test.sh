#!/usr/bin/env bash
# Pull requests from a mounted workspace: `cifs pr submit` commits the
# farm-side copy (.gitignore respected, author from the certificate) and
# pushes the PR's branch to the upstream over file:// and over git:// (a real
# `git daemon`); revisions, the refusals (nothing to submit, unknown target,
# someone else's workspace) and reviews (leads only, never one's own PR).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
export XDG_CACHE_HOME=$TMP/cache

before_teardown() {
  cd "$TMP"
  local m
  for m in "$TMP/mnt" "$TMP/mnt2"; do
    mountpoint -q "$m" 2>/dev/null && { as_user alice "$CIFS" unmount "$m" || fusermount3 -u -z "$m"; }
  done
  pkill -f "fsd --dir $TMP/" || true
  [[ -n ${DAEMON:-} ]] && kill "$DAEMON" 2>/dev/null
  true
}
alice() { as_user alice "$CIFS" "$@"; }
validation_of() {  # validation_of N: the latest revision's validation state
  as_user alice "$CIFS" pr show "$1" --json | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["revisions"][-1]["validation"]["state"])'
}
validated() { [[ ! $(validation_of "$1") =~ ^(pending|running)$ ]]; }
state_of() { as_user alice "$CIFS" pr show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_state() {  # wait_state N STATE: until the PR is in STATE (4 min at most)
  local deadline=$((SECONDS + 240))
  until [[ $(state_of "$1") == "$2" ]]; do [[ $SECONDS -lt $deadline ]] || return 1; sleep 0.5; done
}
wait_validated() {  # wait_validated N: until its validation ends (3 min at most)
  local deadline=$((SECONDS + 180))
  until validated "$1"; do [[ $SECONDS -lt $deadline ]] || return 1; sleep 0.5; done
}

# Bare upstreams holding the sample: one read over file://, one served by git daemon.
SEED=$TMP/seed
mkdir -p "$SEED" && cp -r "$SRC_DIR/tests/data/sample_ws/." "$SEED/"
printf '*.log\n' >"$SEED/.gitignore"
g init -q -b main "$SEED" && g -C "$SEED" add -A && g -C "$SEED" commit -q -m sample
mkdir -p "$TMP/git"
g clone -q --bare "$SEED" "$TMP/git/up.git"
g clone -q --bare "$SEED" "$TMP/git/net.git"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --listen=127.0.0.1 --port="$PORT" --base-path="$TMP/git" --export-all --enable=receive-pack \
  --reuseaddr "$TMP/git" >/dev/null 2>&1 &
DAEMON=$!
for _ in $(seq 1 50); do git ls-remote "git://127.0.0.1:$PORT/net.git" >/dev/null 2>&1 && break; sleep 0.1; done
# And one over HTTPS (git http-backend behind lighttpd, basic auth), which the
# farm signs in to with the credentials file from its config.
mkdir -p "$TMP/git-web"
for r in web locked open; do g clone -q --bare "$SEED" "$TMP/git-web/$r.git"; done
start_git_https "$TMP/git-web" pr-bot 's3cr@t' || { echo "cannot start lighttpd"; exit 1; }
WEB=https://localhost:$GIT_HTTPS_PORT/git
cat >"$TMP/git-credentials" <<EOF
# the farm's accounts on upstream git servers
https://pr-bot:s3cr%40t@localhost:$GIT_HTTPS_PORT/git/web.git
https://pr-bot:wrong@localhost:$GIT_HTTPS_PORT/git/locked.git
https://pr-bot:s3cr%40t@localhost:$GIT_HTTPS_UNTRUSTED_PORT/git
EOF
chmod 600 "$TMP/git-credentials"
FARM_FLAGS=(--git-credentials "$TMP/git-credentials" --git-ca "$GIT_HTTPS_CA")
start_farm || { echo "cannot start the dev farm"; exit 1; }

as_user admin "$CIFS" admin repo add sample --url "file://$TMP/git/up.git" >/dev/null 2>&1
as_user admin "$CIFS" admin repo add netsample --url "git://127.0.0.1:$PORT/net.git" >/dev/null 2>&1
as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample >/dev/null
as_user admin "$CIFS" admin workspace create alice-net --owner alice --repo netsample >/dev/null
as_user admin "$CIFS" admin workspace create alice-clean --owner alice --repo sample >/dev/null
as_user admin "$CIFS" admin workspace create admin-ws --owner admin --repo sample >/dev/null
as_user admin "$CIFS" admin workspace create bob-ws --owner bob --repo sample >/dev/null
for w in sq am; do as_user admin "$CIFS" admin workspace create "$w" --owner alice --repo sample >/dev/null; done
MNT=$TMP/mnt
mkdir -p "$MNT"
alice mount alice-ws "$MNT" >/dev/null
cd "$MNT"

# --- submit --------------------------------------------------------------------
sed -i 's/"hello, "/"hello there, "/' lib/greet.cc
printf 'noise\n' >build.log
# What a local Bazel in the mount leaves behind (cifs bazelrc): convenience
# symlinks into this machine's output base, which the sample does not ignore.
for l in bazel-bin bazel-out bazel-testlogs bazel-mnt; do ln -s "$TMP/bazel-root/out/$l" "$l"; done
run alice pr submit --dry-run -m "Greet more warmly"
check "submit --dry-run lists the change it would commit, into a new PR on main" \
  eval 'succeeded_with "would commit 1 change from alice-ws as a new pull request into main" &&
        grep -q "modified.*lib/greet.cc" <<<"$out"'
check "... and says Bazel's symlinks are left out" \
  eval '[[ $(grep -c "left out.*Bazel.s convenience symlink" <<<"$out") -eq 4 ]]'
check "... and commits nothing" test -z "$(g -C "$TMP/git/up.git" branch --list 'cifs/pr/*')"
run alice pr submit -m "Greet more warmly"
check "alice submits from her mounted workspace" succeeded_with "submitted #1 revision 1"
HEAD1=$(g -C "$FARM/workspaces/alice-ws" rev-parse HEAD)
check "the upstream has the PR's branch at the submitted commit" \
  test "$(g -C "$TMP/git/up.git" rev-parse refs/heads/cifs/pr/1)" = "$HEAD1"
check "... authored by alice" test "$(g -C "$TMP/git/up.git" log -1 --format=%an cifs/pr/1)" = alice
check "... with the edit" contains "$(g -C "$TMP/git/up.git" show cifs/pr/1:lib/greet.cc)" "hello there"
check "... and without the ignored file" bash -c "! git -C '$TMP/git/up.git' cat-file -e cifs/pr/1:build.log 2>/dev/null"
check "... or Bazel's convenience symlinks" \
  bash -c "! git -C '$TMP/git/up.git' ls-tree --name-only cifs/pr/1 | grep -q '^bazel-'"
check "the upstream's main is untouched" \
  test "$(g -C "$TMP/git/up.git" rev-parse main)" = "$(g -C "$SEED" rev-parse main)"
check "the mount shows the commit (git log in the mount)" contains "$(git -C "$MNT" log -1 --format=%s)" "Greet more warmly"

# Validation: the proposed merge, built and tested on the farm. The sample's
# hello_test expects "hello, world", so this PR is red.
wait_validated 1
check "#1 is validated on the farm and fails (its merge breaks hello_test)" test "$(validation_of 1)" = failed
MERGE=$(g -C "$FARM/repos/sample.git" rev-parse refs/cifs/validated/1-1)
check "... the tested merge has the target's tip as first parent" \
  test "$(g -C "$FARM/repos/sample.git" rev-parse "$MERGE^1")" = "$(g -C "$TMP/git/up.git" rev-parse main)"
check "... and the PR's head as second" test "$(g -C "$FARM/repos/sample.git" rev-parse "$MERGE^2")" = "$HEAD1"
run alice pr logs 1
check "cifs pr logs shows the validation build with the failing test's output" \
  succeeded_with "FAIL: .*hello there, world"
check "... and which merge it was" contains "$out" "validation of #1 revision 1: ${MERGE:0:12}"
check "the developer's workspace was not touched by the validation" \
  test "$(g -C "$FARM/workspaces/alice-ws" rev-parse HEAD)" = "$HEAD1"

run alice pr submit
check "submitting again with no change is refused" failed_with "nothing new to submit since revision 1"
run alice pr submit -m "x" --workspace alice-clean
check "a workspace with no changes has nothing to submit" failed_with "nothing to submit"
run alice pr submit -m "x" --workspace alice-clean --target no-such-branch
check "an unknown target branch is refused" failed_with "unknown target branch 'no-such-branch'"
run as_user bob "$CIFS" pr submit -m "x" --workspace alice-ws
check "bob cannot submit alice's workspace" failed_with "belongs to alice"
cd "$TMP"
run alice pr submit -m "x"
check "outside a mount, submit asks for a workspace" failed_with "not inside a mounted workspace"
cd "$MNT"

# Completion asks the farm for workspace names and PR numbers.
source <(as_user alice "$CIFS" completion bash)
export CIFS_CONFIG=$FARM/users/alice/config.toml
SAVED_PATH=$PATH PATH=$(dirname "$CIFS"):$PATH  # the script runs `cifs` as a user would
check "completion offers alice's workspaces to mount" \
  eval 'words=" $(complete_words cifs mount alice-) "; [[ $words == *" alice-ws "* && $words == *" alice-net "* ]]'
check "... and PR numbers to show" eval '[[ " $(complete_words cifs pr show "") " == *" 1 "* ]]'
check "... and workspaces for -w" eval '[[ " $(complete_words cifs pr submit -w alice-c) " == " alice-clean " ]]'
unset CIFS_CONFIG
PATH=$SAVED_PATH

# --- a network upstream (git daemon) -------------------------------------------
# The whole flow through a mount: edit there, submit from there.
mkdir -p "$TMP/mnt2"
alice mount alice-net "$TMP/mnt2" >/dev/null
cd "$TMP/mnt2"
printf '// net\n' >>lib/greet.h
run alice pr submit -m "Over the network"
cd "$MNT"
check "a PR to a git:// upstream is pushed" succeeded_with "submitted #2 revision 1"
check "... and git daemon's repository has its branch" \
  test "$(g -C "$TMP/git/net.git" rev-parse refs/heads/cifs/pr/2)" = "$(g -C "$FARM/workspaces/alice-net" rev-parse HEAD)"
wait_validated 2
check "a harmless PR validates green" test "$(validation_of 2)" = passed
run alice pr logs 2
check "... its log has Bazel's test summary" succeeded_with "Executed .* tests: .* pass"
# The upstream away: the farm answers that, which is not the farm being away.
kill "$DAEMON" && wait "$DAEMON" 2>/dev/null
run alice pr submit --workspace alice-net
check "with the git server down, submit fails naming the upstream, not the farm" \
  eval 'failed_with "upstream git://127.0.0.1:$PORT" && ! grep -q "does not answer" <<<"$out" && one_line'
git daemon --listen=127.0.0.1 --port="$PORT" --base-path="$TMP/git" --export-all --enable=receive-pack \
  --reuseaddr "$TMP/git" >/dev/null 2>&1 &
DAEMON=$!
for _ in $(seq 1 50); do git ls-remote "git://127.0.0.1:$PORT/net.git" >/dev/null 2>&1 && break; sleep 0.1; done

# --- reviews -------------------------------------------------------------------
run as_user bob "$CIFS" pr approve 1
check "bob (dev) cannot approve" failed_with "only a lead or an admin may approve"
printf '// admin change\n' >>"$FARM/workspaces/admin-ws/README.md"
printf 'admin\n' >"$FARM/workspaces/admin-ws/ADMIN"
run as_user admin "$CIFS" pr submit -m "Admin's own" --workspace admin-ws
check "admin submits a PR of their own" succeeded_with "submitted #3"
run as_user admin "$CIFS" pr approve 3
check "nobody approves their own PR, admins included" failed_with "cannot approve your own pull request"
run as_user lee "$CIFS" pr approve 1 -m "looks good"
check "lee (lead) approves #1" succeeded_with "approved #1 (revision 1)"
run alice pr show 1
check "the approval is recorded with who" succeeded_with "approved by lee .*(revision 1): looks good"
check "... and the PR is approved" contains "$out" "state:     approved"

# A new revision resets the approval.
sed -i 's/"hello there, "/"hi there, "/' lib/greet.cc
run alice pr submit
check "a second submit adds revision 2 to #1" succeeded_with "submitted #1 revision 2"
run alice pr show 1
check "... and the PR is open again, waiting for review" succeeded_with "state:     open"
check "... with both revisions listed" contains "$out" "revision 2: "
run as_user lee "$CIFS" pr reject 1
check "a rejection needs a reason" failed_with "message is required\|-m"
run as_user lee "$CIFS" pr reject 1 -m "needs a test"
check "lee rejects #1 with a reason" succeeded_with "rejected #1"
run alice pr list --state rejected --json
check "pr list filters by state (JSON)" succeeded_with '"state": "rejected"'
check "... showing the reason" contains "$out" "needs a test"
run alice pr list --author alice
check "pr list filters by author" succeeded_with "Over the network"
check "... leaving others' PRs out" bash -c "! grep -q \"Admin's own\" <<<\"\$0\"" "$out"
# Pages, newest first: #3 #2, then #1.
run alice pr list --limit 2
check "pr list pages: --limit 2 shows the newest two and where to go on" \
  bash -c "[[ \$(grep -c '^[0-9]' <<<\"\$0\") == 2 ]] && grep -q '^3 ' <<<\"\$0\" && grep -q 'older ones: --before 2' <<<\"\$0\"" "$out"
run alice pr list --limit 2 --before 2
check "... and --before gives the next page" \
  bash -c "[[ \$(grep -c '^[0-9]' <<<\"\$0\") == 1 ]] && grep -q '^1 ' <<<\"\$0\" && ! grep -q 'older ones' <<<\"\$0\"" "$out"
# The target moves under the PR with a clashing change: the next revision
# conflicts, and says where. #3 has its verdict on the old tip first (the
# queue below tests it again on the moved one before it lands).
wait_validated 3
g clone -q "$TMP/git/up.git" "$TMP/other"
# (the same line, the same greeting: main stays green)
sed -i 's/return "hello, " + who;/return std::string("hello, ") + who;/' "$TMP/other/lib/greet.cc"
g -C "$TMP/other" commit -q -am "clash" && g -C "$TMP/other" push -q origin main
printf '// another revision\n' >>lib/greet.h
run alice pr submit
check "a third revision of #1" succeeded_with "submitted #1 revision 3"
wait_validated 1
check "... conflicts with the new main" test "$(validation_of 1)" = conflicted
run alice pr show 1
check "... naming the conflicting path" succeeded_with "conflict: lib/greet.cc"

# --- the merge queue -------------------------------------------------------------
run alice pr merge 2
check "an unapproved PR cannot be merged" failed_with "#2 is open, not approved"
run as_user bob "$CIFS" pr approve 2
check "bob (dev) cannot approve #2 either" failed_with "only a lead or an admin may approve"
run as_user lee "$CIFS" pr approve 1
run alice pr merge 1
check "an approved but red PR cannot be merged" failed_with "is not green: validation conflicted"
OLD_NET=$(g -C "$TMP/git/net.git" rev-parse main)
run as_user lee "$CIFS" pr approve 2
run alice pr merge 2
check "approved and green, #2 is queued" succeeded_with "queued #2 to land on main"
wait_state 2 merged
check "... and lands" test "$(state_of 2)" = merged
LANDED=$(as_user alice "$CIFS" pr show 2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merged_commit"])')
check "the upstream's main is the validated merge commit" test "$(g -C "$TMP/git/net.git" rev-parse main)" = "$LANDED"
check "... a fast-forward of the tip it was validated on" test "$(g -C "$TMP/git/net.git" rev-parse "main^1")" = "$OLD_NET"
check "... and git log there shows it" contains "$(g -C "$TMP/git/net.git" log -1 --format=%s main)" \
  "Merge pull request #2: Over the network"

# Two approved PRs on different files, both validated on an older tip: they
# are tested again on the moved main, the second on top of the first.
printf 'more docs\n' >"$FARM/workspaces/alice-clean/DOCS"
run alice pr submit -m "Docs" --workspace alice-clean
check "a fourth PR on the same target" succeeded_with "submitted #4"
wait_validated 3 && wait_validated 4
as_user lee "$CIFS" pr approve 3 >/dev/null
as_user lee "$CIFS" pr approve 4 >/dev/null
run as_user admin "$CIFS" pr merge 3
check "#3 (validated before main moved) is queued" succeeded_with "queued #3"
run alice pr merge 4
check "#4 is queued behind it" succeeded_with "queued #4 to land on main (position 2)"
wait_state 3 merged && wait_state 4 merged
check "both land" test "$(state_of 3):$(state_of 4)" = merged:merged
M3=$(as_user alice "$CIFS" pr show 3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merged_commit"])')
M4=$(as_user alice "$CIFS" pr show 4 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merged_commit"])')
check "the second was tested on top of the first (its merge's first parent)" \
  test "$(g -C "$TMP/git/up.git" rev-parse "$M4^1")" = "$M3"
check "main is the second's tested merge" test "$(g -C "$TMP/git/up.git" rev-parse main)" = "$M4"
check "... with both changes in the tree" bash -c "git -C '$TMP/git/up.git' cat-file -e main:ADMIN && git -C '$TMP/git/up.git' cat-file -e main:DOCS"

# Two PRs green alone and red together: bob renames Greet, alice adds a test
# that calls it. Tested together, the failing test is in alice's footprint
# only: hers is ejected alone, bob's lands; main keeps bob's merge only.
AWS=$FARM/workspaces/alice-clean
BWS=$FARM/workspaces/bob-ws
g -C "$BWS" pull -q --ff-only origin main 2>/dev/null || true
for f in lib/greet.h lib/greet.cc lib/greet_test.cc lib/broken_test.cc app/hello.cc; do
  sed -i 's/Greet(/Salute(/g' "$BWS/$f"
done
run as_user bob "$CIFS" pr submit -m "Rename Greet to Salute" --workspace bob-ws
check "bob submits a rename" succeeded_with "submitted #5"
printf '#include "lib/greet.h"\nint main() { return Greet("x").empty(); }\n' >"$AWS/lib/extra_test.cc"
printf '\ncc_test(name = "extra_test", srcs = ["extra_test.cc"], deps = [":greet"])\n' >>"$AWS/lib/BUILD"
run alice pr submit -m "A test that greets" --workspace alice-clean
check "alice submits a test that uses the old name" succeeded_with "submitted #6"
wait_validated 5 && wait_validated 6
check "each is green on its own" test "$(validation_of 5):$(validation_of 6)" = passed:passed
as_user lee "$CIFS" pr approve 5 >/dev/null && as_user lee "$CIFS" pr approve 6 >/dev/null
as_user bob "$CIFS" pr merge 5 >/dev/null && alice pr merge 6 >/dev/null
wait_state 5 merged
wait_until_out() { local d=$((SECONDS + 240)); until [[ $(state_of 6) == approved ]]; do [[ $SECONDS -lt $d ]] || return 1; sleep 0.5; done; }
wait_until_out
run alice pr show 6
check "together they break: the second is caught red and ejected, naming the target" succeeded_with "ejected: //lib:extra_test failed on"
M5=$(as_user alice "$CIFS" pr show 5 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merged_commit"])')
check "... and main is the first's merge, nothing unvalidated" test "$(g -C "$TMP/git/up.git" rev-parse main)" = "$M5"

# kill -9 of the farm while the queue tests a PR again on a moved main:
# after the restart the queue tests it again and the PR lands.
printf 'notes\n' >"$FARM/workspaces/admin-ws/NOTES"
run as_user admin "$CIFS" pr submit -m "Notes" --workspace admin-ws
check "admin submits another PR" succeeded_with "submitted #7"
wait_validated 7
as_user lee "$CIFS" pr approve 7 >/dev/null
g -C "$TMP/other" pull -q --rebase origin main
# The move brings a test that takes a few seconds, so the test on the new
# tip is still running when the farm is killed (cached, it would pass in
# less time than a poll takes).
mkdir -p "$TMP/other/moved"
printf 'sh_test(name = "moved_test", srcs = ["moved_test.sh"])\n' >"$TMP/other/moved/BUILD"
printf '#!/bin/sh\nsleep 4\necho moved\n' >"$TMP/other/moved/moved_test.sh" && chmod +x "$TMP/other/moved/moved_test.sh"
g -C "$TMP/other" add moved && g -C "$TMP/other" commit -q -m moved
g -C "$TMP/other" push -q origin main
as_user admin "$CIFS" pr merge 7 >/dev/null
note_of() { as_user alice "$CIFS" pr show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["queue_note"])'; }
wait_testing() { local d=$((SECONDS + 60)); until [[ $(note_of 7) == "testing on main"* ]]; do [[ $SECONDS -lt $d ]] || return 1; sleep 0.1; done; }
wait_testing
check "main moved, so the queue tests #7 again on it" bash -c '[[ $0 == "testing on main"* ]]' "$(note_of 7)"
kill -KILL "$(cat "$FARM/farmserver.pid")"
sleep 0.5
start_farm
wait_state 7 merged
check "after kill -9 and a restart the queue carries on and #7 lands" test "$(state_of 7)" = merged
M7=$(as_user alice "$CIFS" pr show 7 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merged_commit"])')
check "... as a merge tested on the moved main" test "$(g -C "$TMP/git/up.git" rev-parse "$M7^1")" = "$(g -C "$TMP/other" rev-parse HEAD)"

# A queued PR whose branch was deleted upstream leaves the queue, saying so.
printf 'more notes\n' >"$FARM/workspaces/alice-net/NOTES"
run alice pr submit -m "More" --workspace alice-net
check "another PR" succeeded_with "submitted #8"
wait_validated 8
as_user lee "$CIFS" pr approve 8 >/dev/null
g -C "$TMP/git/net.git" branch -q -D cifs/pr/8
g clone -q "$TMP/git/net.git" "$TMP/net-other"
printf 'moved\n' >"$TMP/net-other/MOVED" && g -C "$TMP/net-other" add MOVED && g -C "$TMP/net-other" commit -q -m moved
g -C "$TMP/net-other" push -q origin main
alice pr merge 8 >/dev/null
out_of_queue() { local d=$((SECONDS + 120)); until [[ $(state_of 8) == approved ]]; do [[ $SECONDS -lt $d ]] || return 1; sleep 0.2; done; }
out_of_queue
run alice pr show 8
check "a PR whose branch was deleted upstream leaves the queue, saying why" \
  succeeded_with "branch cifs/pr/8 was deleted upstream"

# bob's workspace holds only what already landed: nothing to submit.
run as_user bob "$CIFS" pr submit -m "again" --workspace bob-ws
check "a workspace whose commits already landed has nothing to submit" failed_with "nothing to submit"

# --squash lands one commit with the validated tree on the tip.
printf 'squash\n' >"$FARM/workspaces/sq/SQ"
run alice pr submit -m "Squash me" --workspace sq
SQ=$(sed -n 's/^submitted #\([0-9]*\).*/\1/p' <<<"$out")
wait_validated "$SQ"
as_user lee "$CIFS" pr approve "$SQ" >/dev/null
BEFORE=$(g -C "$TMP/git/up.git" rev-parse main)
run alice pr merge "$SQ" --squash
check "a squash merge is queued" succeeded_with "queued #$SQ"
wait_state "$SQ" merged
check "... and lands as one commit on the tip it was validated on" \
  test "$(g -C "$TMP/git/up.git" rev-parse main^1):$(g -C "$TMP/git/up.git" rev-list --count "$BEFORE..main")" = "$BEFORE:1"
check "... by alice, titled after the PR" test "$(g -C "$TMP/git/up.git" log -1 --format='%an|%s' main)" = "alice|Squash me (#$SQ)"
VALIDATED=$(as_user alice "$CIFS" pr show "$SQ" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revisions"][-1]["validation"]["merge_commit"])')
check "... with exactly the validated tree" \
  test "$(g -C "$TMP/git/up.git" rev-parse 'main^{tree}')" = "$(g -C "$FARM/repos/sample.git" rev-parse "$VALIDATED^{tree}")"

# A repository that asks for auto-merge: approved and green is enough.
g -C "$TMP/other" pull -q --rebase origin main
printf '[merge]\nauto = true\n' >"$TMP/other/.cifs.toml"
g -C "$TMP/other" add .cifs.toml && g -C "$TMP/other" commit -q -m "auto-merge" && g -C "$TMP/other" push -q origin main
printf 'auto\n' >"$FARM/workspaces/am/AM"
run alice pr submit -m "Auto" --workspace am
AM=$(sed -n 's/^submitted #\([0-9]*\).*/\1/p' <<<"$out")
wait_validated "$AM"
as_user lee "$CIFS" pr approve "$AM" >/dev/null
wait_state "$AM" merged
check "with [merge] auto = true, an approved green PR lands without pr merge" test "$(state_of "$AM")" = merged
check "... queued by auto-merge" test "$(as_user alice "$CIFS" pr show "$AM" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merge_requested_by"])')" = auto-merge

# kill -9 in the window between the push and its record: the upstream's
# pre-receive hook holds the push; the farm dies there, the upstream then
# takes the push all the same (nobody is left to hear its answer), and after
# the restart the farm finds its landing commit on main and marks the PR
# merged (it does not push twice).
printf 'after the crash\n' >"$FARM/workspaces/alice-net/CRASH"
run alice pr submit --workspace alice-net
check "a new revision of #8" succeeded_with "submitted #8 revision 2"
wait_validated 8
as_user lee "$CIFS" pr approve 8 >/dev/null
printf '#!/bin/sh\ncat >/dev/null\ntouch %s\nsleep 3\n' "$TMP/pushing" >"$TMP/git/net.git/hooks/pre-receive"
chmod +x "$TMP/git/net.git/hooks/pre-receive"
NET_BEFORE=$(g -C "$TMP/git/net.git" rev-parse main)
alice pr merge 8 >/dev/null
pushing() { local d=$((SECONDS + 60)); until [[ -e $TMP/pushing ]]; do [[ $SECONDS -lt $d ]] || return 1; sleep 0.05; done; }
pushing
kill -KILL "$(cat "$FARM/farmserver.pid")"
sleep 5
rm -f "$TMP/git/net.git/hooks/pre-receive"
TIP=$(g -C "$TMP/git/net.git" rev-parse main)
check "the push had moved main when the farm died" test "$TIP" != "$NET_BEFORE"
start_farm
wait_state 8 merged
check "after the restart, the landed push is recognised: #8 is merged" test "$(state_of 8)" = merged
M8=$(as_user alice "$CIFS" pr show 8 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["merged_commit"])')
check "... as the commit that was on main, pushed once" test "$M8:$(g -C "$TMP/git/net.git" rev-parse main)" = "$TIP:$TIP"

# --- an HTTPS upstream with credentials -------------------------------------------
run as_user admin "$CIFS" admin repo add websample --url "$WEB/web.git"
check "a repository over HTTPS is mirrored with the farm's credentials" succeeded_with "websample"
run as_user admin "$CIFS" admin repo add locked --url "$WEB/locked.git"
check "a refused password is reported as such" failed_with "refused the farm's credentials for"
run as_user admin "$CIFS" admin repo add open --url "$WEB/open.git"
check "a server asking for credentials the farm lacks is reported" failed_with "the farm has none for"
run as_user admin "$CIFS" admin repo add untrusted --url "https://localhost:$GIT_HTTPS_UNTRUSTED_PORT/git/web.git"
check "a server whose certificate the farm does not trust is refused" failed_with "certificate"
run as_user admin "$CIFS" admin repo add inline --url "https://pr-bot:s3cret@localhost:$GIT_HTTPS_PORT/git/web.git"
check "a password in the URL is refused (it would be stored and shown)" failed_with "the URL holds a password"
run as_user admin "$CIFS" admin repo list
check "... and none of the four is registered" bash -c "! grep -E '^(locked|open|untrusted|inline) ' <<<'$out'"
as_user admin "$CIFS" admin workspace create alice-web --owner alice --repo websample >/dev/null
printf '// over https\n' >>"$FARM/workspaces/alice-web/lib/greet.h"
run alice pr submit -m "Over HTTPS" --workspace alice-web
WEBPR=$(sed -n 's/^submitted #\([0-9]*\).*/\1/p' <<<"$out")
check "a PR is pushed to the HTTPS upstream" test "$(g -C "$TMP/git-web/web.git" rev-parse "refs/heads/cifs/pr/$WEBPR")" = \
  "$(g -C "$FARM/workspaces/alice-web" rev-parse HEAD)"
wait_validated "$WEBPR"
check "... validates green" test "$(validation_of "$WEBPR")" = passed
as_user lee "$CIFS" pr approve "$WEBPR" >/dev/null
alice pr merge "$WEBPR" >/dev/null
wait_state "$WEBPR" merged
check "... and lands on the HTTPS upstream's main" contains "$(g -C "$TMP/git-web/web.git" log -1 --format=%s main)" \
  "Over HTTPS"

run alice pr show 99
check "an unknown PR number is reported" failed_with "no pull request #99"

finish
