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

}  // namespace
}  // namespace cifs
