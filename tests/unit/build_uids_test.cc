#include "farmserver/builds/build_uids.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cifs {
namespace {

class BuildUidsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("cifs-uids-" + std::to_string(::getpid()));
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::unique_ptr<BuildUids> Open(UidRange r) {
    auto u = BuildUids::Open(path_.string(), r);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? std::move(*u) : nullptr;
  }
  std::filesystem::path path_;
};

TEST(UidRangeTest, ParsesAndRefusesSystemUids) {
  auto r = ParseUidRange("810000-819999");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 810000u);
  EXPECT_EQ(r->last, 819999u);
  for (const char* bad : {"", "5", "0-999", "100-2000", "2000-1000", "a-b", "1000-", "-1000", "1000-2000x"}) {
    EXPECT_FALSE(ParseUidRange(bad).ok()) << bad;
  }
}

TEST_F(BuildUidsTest, OneUidPerKeyKeptAcrossReopen) {
  auto u = Open({5000, 5009});
  EXPECT_EQ(*u->For("alice-ws"), 5000u);
  EXPECT_EQ(*u->For("bob-ws"), 5001u);
  EXPECT_EQ(*u->For("alice-ws"), 5000u);
  EXPECT_EQ(*u->For("@validate-sample"), 5002u);
  u = Open({5000, 5009});
  EXPECT_EQ(*u->For("bob-ws"), 5001u);
  EXPECT_EQ(*u->For("carol-ws"), 5003u);
}

TEST_F(BuildUidsTest, AForgottenUidIsNeverHandedOutAgain) {
  auto u = Open({5000, 5001});
  EXPECT_EQ(*u->For("a"), 5000u);
  EXPECT_EQ(*u->For("b"), 5001u);
  ASSERT_TRUE(u->Forget("b").ok());
  EXPECT_FALSE(u->Find("b"));
  u = Open({5000, 5001});
  auto c = u->For("c");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kResourceExhausted);
  EXPECT_NE(c.status().message().find("wider range"), std::string::npos);
  EXPECT_EQ(*u->For("a"), 5000u);
}

TEST_F(BuildUidsTest, ANewRangeGivesNewUids) {
  auto u = Open({5000, 5009});
  EXPECT_EQ(*u->For("a"), 5000u);
  u = Open({7000, 7009});
  EXPECT_EQ(*u->For("a"), 7000u);
  EXPECT_EQ(*u->For("b"), 7001u);
  // Down again, below where the last range ended.
  u = Open({6000, 6001});
  EXPECT_EQ(*u->For("b"), 6000u);
  EXPECT_EQ(*u->For("a"), 6001u);
}

}  // namespace
}  // namespace cifs
