#include "common/digest.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

TEST(DigestTest, KnownSha256) {
  EXPECT_EQ(ComputeDigest("abc").hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ComputeDigest("").hash, EmptyDigest().hash);
  EXPECT_EQ(ComputeDigest("abc").size, 3);
}

TEST(DigestTest, IncrementalEqualsWholeAndCopiesCheckpoint) {
  Sha256 h;
  h.Update("hello ");
  Sha256 checkpoint = h;  // a resumable upload copies the state
  h.Update("world");
  checkpoint.Update("world");
  std::string a = h.FinishHex();
  EXPECT_EQ(a, ComputeDigest("hello world").hash);
  EXPECT_EQ(checkpoint.FinishHex(), a);
}

TEST(DigestTest, ValidateRejectsMalformed) {
  EXPECT_TRUE(ValidateDigest(EmptyDigest().hash, 0).ok());
  EXPECT_FALSE(ValidateDigest("abc", 3).ok());
  EXPECT_FALSE(ValidateDigest(std::string(64, 'G'), 3).ok());
  EXPECT_FALSE(ValidateDigest(std::string(64, 'A'), 3).ok()) << "upper-case hex is not canonical";
  EXPECT_FALSE(ValidateDigest(std::string(64, 'a'), -1).ok());
}

}  // namespace
}  // namespace cifs
