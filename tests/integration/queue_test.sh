#!/usr/bin/env bash
# The merge queue by affected targets, with real Bazel on a generated
# workspace: disjoint PRs land together in one tested batch, a PR whose test
# fails on the moved main is ejected alone, a flaky test is reported and not
# held against anyone, overlapping PRs land in order (the second tested on
# top of the first), a semantic conflict between two PRs leaves main green,
# and a WORKSPACE change lands alone.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
test_setup "${1:?usage: $0 BUILD_DIR}"

alice() { as_user alice "$CIFS" "$@"; }
field() {  # field N PYTHON-EXPR: a field of `cifs pr show N --json` (p is the PR)
  as_user alice "$CIFS" pr show "$1" --json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
validated() { [[ ! $(field "$1" 'p["revisions"][-1]["validation"]["state"]') =~ ^(pending|running)$ ]]; }
wait_for() {  # wait_for SECONDS N STATE: until #N is in STATE
  local deadline=$((SECONDS + $1))
  until [[ $(field "$2" 'p["state"]') == "$3" ]]; do [[ $SECONDS -lt $deadline ]] || return 1; sleep 0.5; done
}

# The upstream: packages p1..p8 with a test each (p8's reads base's flag, p7's
# counts its runs outside Bazel), x and y read by one test, q, z.
SEED=$TMP/seed
FLAKY=/tmp/cifs-queue-flaky-$$-$RANDOM
mkdir -p "$SEED/base"
touch "$SEED/WORKSPACE"
printf 'exports_files(["flag.txt"])\n' >"$SEED/base/BUILD"
printf 'off\n' >"$SEED/base/flag.txt"
for i in 1 2 3 4 5 6 7 8 q z; do
  d=$SEED/p$i
  [[ $i == q || $i == z ]] && d=$SEED/$i
  mkdir -p "$d"
  printf 'ok\n' >"$d/v.txt"
  printf 'sh_test(name = "t", srcs = ["t.sh"], data = ["v.txt"])\n' >"$d/BUILD"
  printf '#!/bin/sh\ngrep -q ok %s/v.txt\n' "${d#$SEED/}" >"$d/t.sh"
done
# p8 fails only with "strict" in its v.txt while base's flag is on.
printf 'sh_test(name = "t", srcs = ["t.sh"], data = ["v.txt", "//base:flag.txt"])\n' >"$SEED/p8/BUILD"
printf '#!/bin/sh\n! { grep -q strict p8/v.txt && grep -q on base/flag.txt; }\n' >"$SEED/p8/t.sh"
# p7 with "flaky" in v.txt fails every second run (never cached).
printf 'sh_test(name = "t", srcs = ["t.sh"], data = ["v.txt"], tags = ["external"])\n' >"$SEED/p7/BUILD"
cat >"$SEED/p7/t.sh" <<SH
#!/bin/sh
grep -q flaky p7/v.txt || exit 0
echo run >>$FLAKY
[ \$((\$(wc -l <$FLAKY) % 2)) -eq 1 ]
SH
mkdir -p "$SEED/x" "$SEED/y" "$SEED/pair"
printf 'exports_files(["x.txt"])\n' >"$SEED/x/BUILD" && printf 'old\n' >"$SEED/x/x.txt"
printf 'exports_files(["y.txt"])\n' >"$SEED/y/BUILD" && printf 'old\n' >"$SEED/y/y.txt"
printf 'sh_test(name = "pair", srcs = ["pair.sh"], data = ["//x:x.txt", "//y:y.txt"])\n' >"$SEED/pair/BUILD"
printf '#!/bin/sh\n! { grep -q new x/x.txt && grep -q new y/y.txt; }\n' >"$SEED/pair/pair.sh"
chmod +x "$SEED"/*/t.sh "$SEED"/pair/pair.sh
g init -q -b main "$SEED" && g -C "$SEED" add -A && g -C "$SEED" commit -q -m layered
mkdir -p "$TMP/git"
g clone -q --bare "$SEED" "$TMP/git/up.git"
g clone -q "$TMP/git/up.git" "$TMP/other"
UP=$TMP/git/up.git

start_farm || { echo "cannot start the dev farm"; exit 1; }
as_user admin "$CIFS" admin repo add layered --url "file://$UP" >/dev/null
WS=$FARM/workspaces
submit() {  # submit NAME TITLE: a workspace NAME (already edited by the caller's edit_NAME) submitted as a PR
  as_user admin "$CIFS" admin workspace create "$1" --owner alice --repo layered >/dev/null
  "edit_$1"
  alice pr submit -m "$2" --workspace "$1" | sed -n 's/^submitted #\([0-9]*\).*/\1/p'
}

# --- 8 disjoint PRs, queued at once on a main that moved ---------------------------
for i in 1 2 3 4 5 6; do eval "edit_w$i() { printf 'ok $i\n' >\"\$WS/w$i/p$i/v.txt\"; }"; done
edit_w7() { printf 'ok flaky\n' >"$WS/w7/p7/v.txt"; }
edit_w8() { printf 'ok strict\n' >"$WS/w8/p8/v.txt"; }
declare -A PR
for i in 1 2 3 4 5 6 7 8; do PR[$i]=$(submit "w$i" "Change p$i"); done
check "eight PRs submitted" test "${#PR[@]}:${PR[8]:-}" = "8:8"
for i in 1 2 3 4 5 6 7 8; do wait_until 300 validated "${PR[$i]}"; done
states=$(for i in 1 2 3 4 5 6 7 8; do field "${PR[$i]}" 'p["revisions"][-1]["validation"]["state"]'; done | sort -u)
check "each is green on its own" test "$states" = passed
run alice pr show "${PR[3]}"
check "pr show names what a PR affects" succeeded_with "affects:   1 target: //p3:t"
check "... its affected targets are what Bazel says reaches its change" \
  test "$(field "${PR[8]}" '",".join(p["revisions"][-1]["validation"]["affected_targets"])')" = "//p8:t"
for i in 1 2 3 4 5 6 7 8; do as_user lee "$CIFS" pr approve "${PR[$i]}" >/dev/null; done
# main moves: base's flag goes on, which only p8's test reads.
printf 'on\n' >"$TMP/other/base/flag.txt"
g -C "$TMP/other" commit -q -am "flag on" && g -C "$TMP/other" push -q origin main
MOVED=$(g -C "$UP" rev-parse main)
for i in 1 2 3 4 5 6 7 8; do alice pr merge "${PR[$i]}" >/dev/null; done
run alice pr show "${PR[5]}"
check "queued disjoint PRs each have a lane of their own" succeeded_with "lane 5"
for i in 1 2 3 4 5 6 7; do wait_for 400 "${PR[$i]}" merged; done
wait_for 60 "${PR[8]}" approved
merged=$(for i in 1 2 3 4 5 6 7; do field "${PR[$i]}" 'p["state"]'; done | sort -u)
check "the seven PRs that pass on the moved main land" test "$merged" = merged
run alice pr show "${PR[8]}"
check "the one whose test fails on the moved main is ejected alone, naming its target" \
  succeeded_with "ejected: //p8:t failed"
TIP=$(g -C "$UP" rev-parse main)
check "the seven landed as one tested batch: main is the batch's tip" \
  test "$(field "${PR[1]}" 'p["batch_tip"]')" = "$TIP"
check "... the chain of their merges on the moved main, in queue order" \
  test "$(g -C "$UP" rev-list --first-parent --count "$MOVED..main")" = 7
check "... and main has all seven changes and not the ejected one" \
  bash -c "[[ \$(git -C '$UP' show main:p3/v.txt) == 'ok 3' && \$(git -C '$UP' show main:p8/v.txt) == ok ]]"
check "the flaky test (failed once, passed on the retry) is reported, not held against its PR" \
  bash -c '[[ $0 == *//p7:t* ]]' "$(field "${PR[7]}" '",".join(p["flaky_targets"])')"
BATCH=$(field "${PR[1]}" 'p["batch_build_id"]')
run as_user lee "$CIFS" logs "$BATCH"
check "the batch's test on the farm passed (main is green)" succeeded_with "SUCCESS"

# --- overlapping PRs, a semantic conflict, a barrier ------------------------------
# p7's test stops flaking on main (else every validation below would meet it).
g -C "$TMP/other" pull -q --rebase origin main
printf 'ok\n' >"$TMP/other/p7/v.txt"
g -C "$TMP/other" commit -q -am "p7 steady" && g -C "$TMP/other" push -q origin main
edit_wa() { printf 'ok a\n' >"$WS/wa/q/v.txt"; }
edit_wb() { printf '#!/bin/sh\ngrep -q ok q/v.txt && true\n' >"$WS/wb/q/t.sh"; }
edit_wx() { printf 'new\n' >"$WS/wx/x/x.txt"; }
edit_wy() { printf 'new\n' >"$WS/wy/y/y.txt"; }
edit_ww() { printf '# a comment\n' >>"$WS/ww/WORKSPACE"; }
edit_wz() { printf 'ok z\n' >"$WS/wz/z/v.txt"; }
A=$(submit wa "q's data") B=$(submit wb "q's test") X=$(submit wx "x is new") Y=$(submit wy "y is new")
W=$(submit ww "WORKSPACE") Z=$(submit wz "z")
for n in "$A" "$B" "$X" "$Y" "$W" "$Z"; do wait_until 300 validated "$n"; as_user lee "$CIFS" pr approve "$n" >/dev/null; done
check "a WORKSPACE change affects everything" \
  bash -c '[[ $0 == True* ]]' "$(field "$W" 'p["revisions"][-1]["validation"]["affects_everything"], p["revisions"][-1]["validation"]["affected_why"]')"
# main moves again, so none of them lands on its own validation at once.
printf 'ok again\n' >"$TMP/other/p1/v.txt"
g -C "$TMP/other" commit -q -am "p1 again" && g -C "$TMP/other" push -q origin main
for n in "$A" "$B" "$X" "$Y" "$W" "$Z"; do alice pr merge "$n" >/dev/null; done
run alice pr show "$B"
check "the second of two PRs on one target waits on the first, in its lane" succeeded_with "lane 1 (after #$A)"
for n in "$A" "$B" "$X" "$W" "$Z"; do wait_for 400 "$n" merged; done
wait_for 60 "$Y" approved
MA=$(field "$A" 'p["merged_commit"]') MB=$(field "$B" 'p["merged_commit"]') MX=$(field "$X" 'p["merged_commit"]')
MW=$(field "$W" 'p["merged_commit"]') MZ=$(field "$Z" 'p["merged_commit"]')
check "overlapping PRs land in submit order, the second tested on top of the first" \
  test "$(g -C "$UP" rev-parse "$MB^1")" = "$MA"
run alice pr show "$Y"
check "of two PRs green alone and red together, the second is ejected" succeeded_with "ejected: //pair:pair failed"
check "... and main never holds both" test "$(g -C "$UP" show main:y/y.txt)" = old
check "the WORKSPACE change lands alone: its own batch" \
  test "$(field "$W" 'p["batch_tip"]'):$(g -C "$UP" rev-parse "$MW^1")" = "$MW:$MX"
check "... and what was queued after it lands after it" test "$(g -C "$UP" rev-parse "$MZ^1")" = "$MW"
check "main is the last tested batch" test "$(g -C "$UP" rev-parse main)" = "$MZ"

rm -f "$FLAKY"
finish
