#include "farmserver/reapi/resource_name.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

const std::string kHash = std::string(64, 'a');

TEST(ResourceNameTest, ReadWithAndWithoutInstance) {
  auto r = ParseReadResource("blobs/" + kHash + "/42");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->instance, "");
  EXPECT_EQ(r->digest.size, 42);
  auto r2 = ParseReadResource("main/team/blobs/" + kHash + "/7");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->instance, "main/team");
  EXPECT_EQ(r2->digest.hash, kHash);
}

TEST(ResourceNameTest, WriteWithAndWithoutInstanceAndMetadata) {
  auto w = ParseWriteResource("uploads/1234-uuid/blobs/" + kHash + "/10");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->uuid, "1234-uuid");
  EXPECT_EQ(w->instance, "");
  auto w2 = ParseWriteResource("inst/uploads/u/blobs/" + kHash + "/10/some/metadata");
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w2->instance, "inst");
  EXPECT_EQ(w2->digest.size, 10);
}

TEST(ResourceNameTest, MalformedNamesAreRefused) {
  for (const std::string& bad : std::vector<std::string>{"", "blobs", "blobs/" + kHash, "blobs/" + kHash + "/x",
                                 "blobs/" + kHash + "/-1", "blobs/abc/3", "../blobs/" + kHash + "/1",
                                 "a//blobs/" + kHash + "/1", "blobs/" + kHash + "/1/extra"}) {
    EXPECT_FALSE(ParseReadResource(bad).ok()) << bad;
  }
  for (const std::string& bad : std::vector<std::string>{"uploads/u/blobs/" + kHash, "uploads//blobs/" + kHash + "/1",
                                 "uploads/u/blob/" + kHash + "/1", "blobs/" + kHash + "/1",
                                 "../uploads/u/blobs/" + kHash + "/1"}) {
    EXPECT_FALSE(ParseWriteResource(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cifs
