#include <gtest/gtest.h>

#include "farmserver/options.h"

namespace cifs {
namespace {

TEST(OptionsTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("1024"), 1024);
  EXPECT_EQ(*ParseByteSize("10GiB"), 10LL << 30);
  EXPECT_EQ(*ParseByteSize("512M"), 512LL << 20);
  EXPECT_FALSE(ParseByteSize("ten").ok());
  EXPECT_FALSE(ParseByteSize("10X").ok());
  EXPECT_FALSE(ParseByteSize("99999999999T").ok());
}

TEST(OptionsTest, ByteSizesForPeople) {
  EXPECT_EQ(FormatByteSize(0), "0 B");
  EXPECT_EQ(FormatByteSize(1023), "1023 B");
  EXPECT_EQ(FormatByteSize(1024), "1.0 KiB");
  EXPECT_EQ(FormatByteSize(1288490189), "1.2 GiB");
  EXPECT_EQ(FormatByteSize(INT64_MAX), "8388608.0 TiB");
}

}  // namespace
}  // namespace cifs
