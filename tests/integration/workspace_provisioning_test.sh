#!/usr/bin/env bash
# Provisioning workspaces: repositories mirrored on the farm, working copies
# that share the mirror's objects, per-user listing, clear refusals.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"
start_farm || { echo "cannot start the dev farm"; exit 1; }


# A real upstream repository with two branches.
UP=$TMP/upstream
g init -q -b main "$UP"
echo "hello" >"$UP/README.md"
mkdir -p "$UP/src" && echo "int main() { return 0; }" >"$UP/src/main.cc"
g -C "$UP" add -A && g -C "$UP" commit -q -m "first"
g -C "$UP" checkout -q -b feature
echo "feature work" >"$UP/FEATURE.md"
g -C "$UP" add -A && g -C "$UP" commit -q -m "feature"
g -C "$UP" checkout -q main
main_head=$(git -C "$UP" rev-parse main)
feature_head=$(git -C "$UP" rev-parse feature)

run as_user alice "$CIFS" admin repo add sample --url "$UP"
check "a dev cannot add repositories" failed_with "needs admin"
run as_user admin "$CIFS" admin repo add sample --url "$UP"
check "admin adds the repository" succeeded_with "default branch main"
run as_user admin "$CIFS" admin repo add sample --url "$UP"
check "adding it twice is refused" failed_with "exists"
run as_user admin "$CIFS" admin repo add ghost --url "$TMP/no-such-repo"
check "an unreachable URL is refused clearly" failed_with "cannot clone"
check "... and leaves no mirror behind" test ! -e "$FARM/repos/ghost.git"
run as_user admin "$CIFS" admin repo add "../evil" --url "$UP"
check "a repository name with a path is refused" failed_with "may only hold"

run as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample --progress
check "admin creates alice's workspace on the default branch" succeeded_with "sample main"
check "... and sees each phase as it comes" \
  grep -qz "creating alice-ws: updating the mirror.*sharing the mirror's objects.*checking out" <<<"$out"
check "... and the files checked out, as git counts them" grep -q "checking out 2/2 files" <<<"$out"
run as_user admin "$CIFS" admin workspace create bob-quiet --owner bob --repo sample
check "without --progress and not on a terminal, only the result is said" \
  test "$(grep -c . <<<"$out") $rc" = "1 0"
as_user admin "$CIFS" admin workspace delete bob-quiet >/dev/null
WS=$FARM/workspaces/alice-ws
check "the farm-side copy has the files" test -f "$WS/src/main.cc"
check "it is at the upstream's main" test "$(git -C "$WS" rev-parse HEAD)" = "$main_head"
check "git status is clean there" test -z "$(git -C "$WS" status --porcelain)"
check "the branch tracks origin/main" test "$(git -C "$WS" rev-parse --abbrev-ref '@{u}')" = origin/main
check "origin is the upstream" test "$(git -C "$WS" remote get-url origin)" = "$UP"
shares_objects() {  # every object file of the workspace is a hard link of the mirror's
  local f n=0
  while IFS= read -r f; do
    [[ $f -ef "$FARM/repos/sample.git/objects/${f#"$WS/.git/objects/"}" ]] || return 1
    n=$((n + 1))
  done < <(find "$WS/.git/objects" -type f ! -path '*/info/*')
  [[ $n -gt 0 ]]
}
check "objects are the mirror's files (hard links), inside the workspace" shares_objects
check "no alternates pointing outside the workspace" test ! -e "$WS/.git/objects/info/alternates"
check "git compares only mtime and size (mount-friendly index)" \
  test "$(git -C "$WS" config core.checkStat)" = minimal
check "git log works in the workspace" test "$(git -C "$WS" log --format=%s -1)" = first

run as_user admin "$CIFS" admin workspace create bob-ws --owner bob --repo sample --branch feature
check "a workspace on another branch" succeeded_with "sample feature"
check "it has that branch's files" test -f "$FARM/workspaces/bob-ws/FEATURE.md"
check "at that branch's head" test "$(git -C "$FARM/workspaces/bob-ws" rev-parse HEAD)" = "$feature_head"

run as_user admin "$CIFS" admin workspace create x --owner alice --repo sample --branch nope
check "an unknown branch is refused" failed_with "no branch 'nope'"
check "... and leaves no directory" test ! -e "$FARM/workspaces/x"
run as_user admin "$CIFS" admin workspace create y --owner alice --repo nosuch
check "an unknown repository is refused with a hint" failed_with "cifs admin repo add"
run as_user admin "$CIFS" admin workspace create alice-ws --owner alice --repo sample
check "a taken workspace name is refused" failed_with "exists"
run as_user admin "$CIFS" admin workspace create ../../etc --owner alice --repo sample
check "a workspace name with a path is refused" failed_with "may only hold"
run as_user admin "$CIFS" admin workspace create z --owner "a b" --repo sample
check "a bad owner name is refused" failed_with "user name"
run as_user alice "$CIFS" admin workspace create mine --owner alice --repo sample
check "a dev cannot create workspaces" failed_with "needs admin"

# A new upstream commit reaches the next workspace.
echo "more" >>"$UP/README.md" && g -C "$UP" commit -q -am "second"
run as_user admin "$CIFS" admin workspace create alice-ws2 --owner alice --repo sample
check "a new workspace starts at the upstream's new tip" \
  test "$(git -C "$FARM/workspaces/alice-ws2" rev-parse HEAD)" = "$(git -C "$UP" rev-parse main)"

names() { jq -r '.[].name' <<<"$out" | tr '\n' ' '; }
run as_user alice "$CIFS" ws list --json
check "alice sees her workspaces only" test "$(names)" = "alice-ws alice-ws2 "
run as_user bob "$CIFS" ws list --json
check "bob sees his" test "$(names)" = "bob-ws "
run as_user admin "$CIFS" ws list --json
check "an admin sees all" test "$(names)" = "alice-ws alice-ws2 bob-ws "
run as_user lee "$CIFS" ws list --all --json
check "a lead sees all with --all" test "$(names)" = "alice-ws alice-ws2 bob-ws "
run as_user alice "$CIFS" ws list --all
check "a dev cannot list everyone's" failed_with "needs lead"
run as_user alice "$CIFS" ws list
check "the table names the branch" succeeded_with "alice-ws2 .*alice .*sample .*main"

run as_user admin "$CIFS" admin workspace delete alice-ws
check "admin deletes a workspace" succeeded_with "deleted workspace alice-ws"
check "its farm-side copy is gone" test ! -e "$WS"
check "the mirror is untouched" test -d "$FARM/repos/sample.git/objects"
check "other workspaces still work" test -z "$(git -C "$FARM/workspaces/alice-ws2" status --porcelain)"
run as_user admin "$CIFS" admin workspace delete alice-ws
check "deleting it again says so" failed_with "no workspace 'alice-ws'"

"$SRC_DIR/scripts/dev-farm" stop "$FARM" >/dev/null && start_farm
run as_user admin "$CIFS" ws list --json
check "workspaces survive a farm restart" test "$(names)" = "alice-ws2 bob-ws "

finish
