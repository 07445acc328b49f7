#include "workspace/git_progress.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace cifs {
namespace {

TEST(GitProgressTest, ParsesMeterLinesAndNothingElse) {
  int64_t done = -1, total = -1;
  EXPECT_TRUE(ParseGitProgressLine("Updating files:  45% (1234/2743)", &done, &total));
  EXPECT_EQ(done, 1234);
  EXPECT_EQ(total, 2743);
  EXPECT_TRUE(ParseGitProgressLine("Updating files: 100% (2743/2743), done.", &done, &total));
  EXPECT_EQ(done, 2743);
  for (const char* not_meter : {"", "error: cannot lock ref (x)", "Updating files: (12/)", "(5/3)", "(-1/3)",
                                "(1/99999999999999999999999)", "(1 /3)"}) {
    EXPECT_FALSE(ParseGitProgressLine(not_meter, &done, &total)) << not_meter;
  }
}

TEST(GitProgressTest, ReadsMetersSplitAcrossPiecesOfOutput) {
  std::vector<std::pair<int64_t, int64_t>> seen;
  GitProgressReader reader([&](int64_t d, int64_t t) { seen.emplace_back(d, t); });
  reader.Feed("Updating files:  1");
  reader.Feed("0% (10/100)\rUpdating files:  50% (50/1");
  reader.Feed("00)\rUpdating files: 100% (100/100), done.\nwarning: something (else)\n");
  ASSERT_EQ(seen.size(), 3u);
  using Counts = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(seen, (Counts{{10, 100}, {50, 100}, {100, 100}}));
}

TEST(GitProgressTest, AnOverlongLineIsDroppedNotKept) {
  std::vector<int64_t> seen;
  GitProgressReader reader([&](int64_t d, int64_t) { seen.push_back(d); });
  reader.Feed(std::string(5000, 'x') + " (1/2)\r(2/2)\n");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], 2);
}

}  // namespace
}  // namespace cifs
