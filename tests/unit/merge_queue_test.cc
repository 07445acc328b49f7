#include <gtest/gtest.h>

#include <algorithm>

#include "farmserver/prs/affected.h"
#include "farmserver/prs/lanes.h"
#include "farmserver/prs/pr_state.h"

namespace cifs {
namespace {

using K = ChangedPath::Kind;

const std::set<std::string> kPackages = {"", "lib", "app", "app/sub"};

ChangeAnalysis Analyze(std::vector<ChangedPath> changed, std::set<std::string> after = kPackages) {
  return AnalyzeChanges(changed, kPackages, after);
}

TEST(AffectedTest, AModifiedFileIsItsOwnLabelInItsNearestPackage) {
  auto a = Analyze({{"app/sub/x/y.cc", K::kModified}, {"lib/a.cc", K::kModified}, {"README", K::kModified}});
  EXPECT_FALSE(a.everything);
  EXPECT_EQ(a.roots, (std::vector<std::string>{"//:README", "//app/sub:x/y.cc", "//lib:a.cc"}));
}

TEST(AffectedTest, BuildFilesAndAddedOrDeletedFilesTakeTheWholePackage) {
  auto a = Analyze({{"lib/BUILD", K::kModified}, {"app/new.cc", K::kAdded}, {"app/sub/old.cc", K::kDeleted}});
  EXPECT_FALSE(a.everything);
  EXPECT_EQ(a.roots, (std::vector<std::string>{"//app/sub:all", "//app:all", "//lib:all"}));
}

TEST(AffectedTest, WhatBazelCannotSeeThroughAffectsEverything) {
  for (const char* path : {"WORKSPACE", ".bazelrc", ".cifs.toml", "tools/defs.bzl", "lib/rules.bzl", ".bazelversion"}) {
    auto a = Analyze({{"lib/a.cc", K::kModified}, {path, K::kModified}});
    EXPECT_TRUE(a.everything) << path;
    EXPECT_NE(a.why.find(path), std::string::npos) << a.why;
    EXPECT_TRUE(a.roots.empty());
  }
  // Not at the top, WORKSPACE is an ordinary file of a package.
  EXPECT_FALSE(Analyze({{"lib/WORKSPACE", K::kModified}}).everything);
}

TEST(AffectedTest, AFileInNoPackageOrARemovedPackageAffectsEverything) {
  std::set<std::string> no_root = {"lib"};
  auto outside = AnalyzeChanges({{"docs/x.md", K::kModified}}, no_root, no_root);
  EXPECT_TRUE(outside.everything);
  EXPECT_NE(outside.why.find("no Bazel package"), std::string::npos);
  auto removed = Analyze({{"app/sub/BUILD", K::kDeleted}}, {"", "lib", "app"});
  EXPECT_TRUE(removed.everything);
  EXPECT_NE(removed.why.find("//app/sub"), std::string::npos);
}

TEST(AffectedTest, ANewPackageIsItsOwnRoot) {
  auto a = Analyze({{"tools/BUILD", K::kAdded}, {"tools/t.sh", K::kAdded}}, {"", "lib", "app", "app/sub", "tools"});
  EXPECT_FALSE(a.everything);
  EXPECT_EQ(a.roots, (std::vector<std::string>{"//tools:all"}));
}

TEST(AffectedTest, ManyFilesFoldIntoTheirPackages) {
  std::vector<ChangedPath> many;
  for (int i = 0; i < 1000; ++i) many.push_back({"lib/f" + std::to_string(i) + ".cc", K::kModified});
  auto a = Analyze(many);
  EXPECT_FALSE(a.everything);
  EXPECT_EQ(a.roots, (std::vector<std::string>{"//lib:all"}));
}

TEST(AffectedTest, TheQueryAsksForRulesReachingTheRoots) {
  EXPECT_EQ(AffectedQuery({"//a:all", "//b:x.cc"}), "kind(rule, rdeps(//..., set(\"//a:all\" \"//b:x.cc\")))");
}

TEST(AffectedTest, OnlyLabelsAreReadFromTheQueryOutput) {
  std::string out =
      "Loading: 0 packages loaded\n//b:t\r\nDEBUG: //fake:label said so\n//a:a\n@ext//x:y\nINFO: Elapsed time\n//a:a\n";
  EXPECT_EQ(ParseQueryLabels(out), (std::vector<std::string>{"//a:a", "//b:t", "@ext//x:y"}));
}

Footprint Targets(std::vector<std::string> t, std::vector<std::string> paths = {}) {
  Footprint f;
  f.targets = std::move(t);
  f.paths = std::move(paths);
  std::sort(f.targets.begin(), f.targets.end());  // as the queue keeps them
  std::sort(f.paths.begin(), f.paths.end());
  return f;
}

Footprint Everything() {
  Footprint f;
  f.everything = true;
  return f;
}

TEST(LanesTest, PrsMeetOnATargetAPathOrABarrier) {
  EXPECT_TRUE(Overlaps(Targets({"//a:a", "//c:c"}), Targets({"//b:b", "//c:c"})));
  EXPECT_FALSE(Overlaps(Targets({"//a:a"}, {"a/x"}), Targets({"//b:b"}, {"b/x"})));
  EXPECT_TRUE(Overlaps(Targets({}, {"README"}), Targets({}, {"README"})));
  EXPECT_TRUE(Overlaps(Everything(), Targets({"//b:b"})));
}

TEST(LanesTest, DisjointPrsGetLanesOfTheirOwnAndOverlappingOnesWaitInOrder) {
  std::vector<QueuedPr> q = {{true, Targets({"//a:a"})},
                             {true, Targets({"//b:b"})},
                             {true, Targets({"//a:a", "//c:c"})},
                             {true, Targets({"//c:c"})},
                             {true, Targets({"//d:d"})}};
  auto slots = AssignLanes(q);
  EXPECT_EQ(slots[0].lane, 1);
  EXPECT_EQ(slots[1].lane, 2);
  EXPECT_EQ(slots[2].lane, 1);
  EXPECT_EQ(slots[3].lane, 1);
  EXPECT_EQ(slots[4].lane, 3);
  EXPECT_EQ(slots[0].waits_on, -1);
  EXPECT_EQ(slots[1].waits_on, -1);
  EXPECT_EQ(slots[2].waits_on, 0);
  EXPECT_EQ(slots[3].waits_on, 2);
}

TEST(LanesTest, ABarrierJoinsEveryLane) {
  auto slots = AssignLanes({{true, Targets({"//a:a"})}, {true, Targets({"//b:b"})}, {true, Everything()}});
  EXPECT_EQ(slots[0].lane, 1);
  EXPECT_EQ(slots[1].lane, 1);
  EXPECT_EQ(slots[2].lane, 1);
  EXPECT_EQ(slots[2].waits_on, 1);
}

TEST(LanesTest, ABatchTakesTheReadyRunFromTheFrontUpToTheWindow) {
  std::vector<QueuedPr> q;
  for (int i = 0; i < 10; ++i) q.push_back({true, Targets({"//p" + std::to_string(i) + ":t"})});
  EXPECT_EQ(PickBatch(q, 8).size(), 8u);
  EXPECT_EQ(PickBatch(q, 1), (std::vector<size_t>{0}));
  q[3].ready = false;
  EXPECT_EQ(PickBatch(q, 8), (std::vector<size_t>{0, 1, 2}));
  q[0].ready = false;
  EXPECT_TRUE(PickBatch(q, 8).empty());
}

TEST(LanesTest, ABarrierIsTestedAloneAndNothingPassesIt) {
  std::vector<QueuedPr> q = {{true, Targets({"//a:a"})}, {true, Everything()}, {true, Targets({"//b:b"})}};
  EXPECT_EQ(PickBatch(q, 8), (std::vector<size_t>{0}));
  q.erase(q.begin());
  EXPECT_EQ(PickBatch(q, 8), (std::vector<size_t>{0}));
}

TEST(LanesTest, AFailureInOneFootprintEjectsThatPrAlone) {
  auto v = JudgeFailure({Targets({"//a:a", "//a:test"}), Targets({"//b:b"}), Targets({"//c:test"})},
                        {"//a:test", "//c:test"});
  EXPECT_EQ(v.eject, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(v.shrink_to, 0u);
}

TEST(LanesTest, AFailureSharedByTwoPrsTestsTheFrontWithoutTheLaterOne) {
  // A semantic conflict: each passed alone, the shared test fails together.
  auto v = JudgeFailure({Targets({"//b:b"}), Targets({"//x:x", "//x:test"}), Targets({"//y:y", "//x:test"})},
                        {"//x:test"});
  EXPECT_TRUE(v.eject.empty());
  EXPECT_EQ(v.shrink_to, 2u);
  EXPECT_EQ(v.unattributed, (std::vector<std::string>{"//x:test"}));
}

TEST(LanesTest, AFailureNoFootprintExplainsHalvesTheBatch) {
  std::vector<Footprint> four = {Targets({"//a:a"}), Targets({"//b:b"}), Targets({"//c:c"}), Targets({"//d:d"})};
  EXPECT_EQ(JudgeFailure(four, {"//missed:test"}).shrink_to, 2u);
  EXPECT_EQ(JudgeFailure(four, {}).shrink_to, 2u);  // nothing named (Bazel failed before any target)
  EXPECT_EQ(JudgeFailure({Targets({"//a:a"})}, {"//z:z"}).eject, (std::vector<size_t>{0}));
}

}  // namespace
}  // namespace cifs

namespace cifs {
namespace {

constexpr PrState kAll[] = {PrState::kOpen,   PrState::kApproved, PrState::kRejected,
                            PrState::kQueued, PrState::kMerged,   PrState::kClosed};

TEST(PrStateTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (PrState s : kAll) EXPECT_EQ(ParsePrState(PrStateName(s)), s);
  EXPECT_EQ(ParsePrState("Queued"), std::nullopt);
  EXPECT_EQ(ParsePrState(""), std::nullopt);
}

TEST(PrStateTest, EveryTransition) {
  using S = PrState;
  using E = PrEvent;
  const std::optional<S> no;
  struct Row {
    S from;
    std::optional<S> revise, approve, reject, queue, land, eject, withdraw;
  };
  const Row table[] = {
      {S::kOpen, S::kOpen, S::kApproved, S::kRejected, no, S::kMerged, no, S::kClosed},
      {S::kApproved, S::kOpen, S::kApproved, S::kRejected, S::kQueued, S::kMerged, no, no},
      {S::kRejected, S::kOpen, S::kApproved, S::kRejected, no, S::kMerged, no, no},
      {S::kQueued, S::kOpen, S::kQueued, S::kRejected, no, S::kMerged, S::kApproved, no},
      {S::kMerged, no, no, no, no, S::kMerged, no, no},
      {S::kClosed, no, no, no, no, S::kMerged, no, no},
  };
  for (const auto& r : table) {
    SCOPED_TRACE(std::string(PrStateName(r.from)));
    EXPECT_EQ(NextPrState(r.from, E::kRevise), r.revise);
    EXPECT_EQ(NextPrState(r.from, E::kApprove), r.approve);
    EXPECT_EQ(NextPrState(r.from, E::kReject), r.reject);
    EXPECT_EQ(NextPrState(r.from, E::kQueue), r.queue);
    EXPECT_EQ(NextPrState(r.from, E::kLand), r.land);
    EXPECT_EQ(NextPrState(r.from, E::kEject), r.eject);
    EXPECT_EQ(NextPrState(r.from, E::kWithdraw), r.withdraw);
  }
}

}  // namespace
}  // namespace cifs
