// Paths a mount may send the farm, and the change journal's contract.
#include <gtest/gtest.h>

#include "common/rel_path.h"
#include "farmserver/fs/change_journal.h"
#include "farmserver/fs/workspace_dir.h"

namespace cifs {
namespace {

TEST(WorkspacePathTest, OnlyPlainRelativePathsPass) {
  for (const char* ok : {"", "a", "a/b/c", ".git/HEAD", "a..b", "...", "x y"}) {
    EXPECT_TRUE(ValidateWorkspacePath(ok).ok()) << ok;
  }
  for (const char* bad : {"/", "/etc", "..", "../x", "a/../b", "a/..", ".", "./a", "a/./b", "a//b", "a/"}) {
    EXPECT_FALSE(ValidateWorkspacePath(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateWorkspacePath(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateWorkspacePath(std::string(256, 'x')).ok());
  // Deeper than PATH_MAX, as a local disk allows; bounded all the same.
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += (i ? "/" : "") + std::string(200, 'd');
  EXPECT_TRUE(ValidateWorkspacePath(deep).ok());
  std::string huge;
  while (huge.size() <= kMaxWorkspacePath) huge += (huge.empty() ? "" : "/") + std::string(200, 'd');
  EXPECT_FALSE(ValidateWorkspacePath(huge).ok());
}

TEST(RelPathTest, JoinsSplitsAndMatches) {
  EXPECT_EQ(JoinRelPath("", "a"), "a");
  EXPECT_EQ(JoinRelPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(ParentRelPath("a"), "");
  EXPECT_EQ(ParentRelPath("a/b/c"), "a/b");
  std::vector<std::string> none;
  EXPECT_TRUE(MatchesAnyGlob(none, "anything"));
  std::vector<std::string> cc{"src/*.cc", "BUILD"};
  EXPECT_TRUE(MatchesAnyGlob(cc, "src/a/b.cc")) << "* crosses directories";
  EXPECT_TRUE(MatchesAnyGlob(cc, "BUILD"));
  EXPECT_FALSE(MatchesAnyGlob(cc, "src/a.h"));
  EXPECT_FALSE(MatchesAnyGlob(cc, "lib/BUILD"));
}

TEST(ChangeJournalTest, DeliversEachPathOnceAndResetsLaggards) {
  ChangeJournal j(/*capacity=*/3);
  j.Add("a");
  j.Add("b");
  j.Add("a");
  auto batch = j.Next(0, std::chrono::milliseconds(10));
  EXPECT_FALSE(batch.reset);
  EXPECT_EQ(batch.seq, 3u);
  EXPECT_EQ(batch.paths.size(), 2u);
  j.Add("c");
  j.Add("d");  // 5 entries so far, 3 kept: a watcher at 0 missed some
  EXPECT_TRUE(j.Next(0, std::chrono::milliseconds(10)).reset);
  EXPECT_FALSE(j.Next(3, std::chrono::milliseconds(10)).reset);
  j.AddReset();
  EXPECT_TRUE(j.Next(5, std::chrono::milliseconds(10)).reset);
  auto idle = j.Next(j.seq(), std::chrono::milliseconds(10));
  EXPECT_TRUE(idle.paths.empty());
  EXPECT_FALSE(idle.reset);
}

}  // namespace
}  // namespace cifs
