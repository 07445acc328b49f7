#include "farmserver/builds/status_dedup.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

TEST(StatusLineDedupTest, TheClosingStatusLineIsShownOnceHoweverBazelRepeatsIt) {
  StatusLineDedup d;
  std::string log;
  // As Bazel 4.2.3 --curses=no --color=yes writes it, in uneven chunks.
  for (std::string_view chunk :
       {"INFO: Elapsed time: 8.4s\n\033[32mINFO: \033[0mBuild comp", "leted successfully, 6 total actions\n",
        "\033[32mINFO: \033[0mBuild completed successfully, 6 total actions\n", "INFO: Streaming build results to: x\n",
        "\033[32mINFO: \033[0mBuild completed successfully, 6 total actions\n"}) {
    log += d.Filter(chunk);
  }
  log += d.Flush();
  EXPECT_EQ(log,
            "INFO: Elapsed time: 8.4s\n\033[32mINFO: \033[0mBuild completed successfully, 6 total actions\n"
            "INFO: Streaming build results to: x\n");
}

TEST(StatusLineDedupTest, OtherLinesPassAtOnceEvenUnfinishedAndRepeated) {
  StatusLineDedup d;
  EXPECT_EQ(d.Filter("[3 / 5] Compiling a.cc"), "[3 / 5] Compiling a.cc");
  EXPECT_EQ(d.Filter("\nPASSED\nPASSED\n"), "\nPASSED\nPASSED\n");
  // A line that may still become a closing one waits for its end.
  EXPECT_EQ(d.Filter("FAILED: Build"), "");
  EXPECT_EQ(d.Filter(" did NOT complete successfully\n"), "FAILED: Build did NOT complete successfully\n");
  EXPECT_EQ(d.Filter("FAILED: Build did NOT complete successfully\n"), "");
  EXPECT_EQ(d.Filter("INFO"), "");
  EXPECT_EQ(d.Flush(), "INFO");
}

}  // namespace
}  // namespace cifs
