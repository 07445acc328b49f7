#include "farmserver/api/response_limits.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

TEST(ResponseLimitsTest, HugeBuildKeepsFailuresAndFits) {
  v1::Build b;
  b.set_id("big");
  for (int i = 0; i < 100000; ++i) {
    auto* t = b.add_targets();
    t->set_label("//pkg/very/long/package/path:target_number_" + std::to_string(i));
    t->set_kind("cc_library rule");
    t->set_completed(true);
    t->set_built(true);
  }
  auto* failed = b.add_targets();
  failed->set_label("//x:broken_test");
  failed->set_completed(true);
  failed->set_test_status("FAILED");
  ASSERT_GT(b.ByteSizeLong(), kMaxResponseBytes);
  TrimTargetsToFit(&b, kMaxResponseBytes);
  EXPECT_LE(b.ByteSizeLong(), kMaxResponseBytes);
  EXPECT_TRUE(b.targets_truncated());
  EXPECT_EQ(b.targets(0).label(), "//x:broken_test");
  EXPECT_GT(b.targets_size(), 1000);
}

TEST(ResponseLimitsTest, SmallBuildIsUntouched) {
  v1::Build b;
  b.add_targets()->set_label("//a:b");
  TrimTargetsToFit(&b, kMaxResponseBytes);
  EXPECT_FALSE(b.targets_truncated());
  EXPECT_EQ(b.targets_size(), 1);
}

}  // namespace
}  // namespace cifs
