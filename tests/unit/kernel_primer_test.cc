#include "fsd/kernel_primer.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

TEST(PrimeClaimsTest, TheSecondLookupInADirectoryClaimsItOnce) {
  PrimeClaims c;
  EXPECT_FALSE(c.NoteLookup(5)) << "one lookup is any path walk";
  EXPECT_FALSE(c.NoteLookup(6));
  EXPECT_TRUE(c.NoteLookup(5));
  EXPECT_FALSE(c.NoteLookup(5)) << "claimed already";
  EXPECT_FALSE(c.Claim(5));
  EXPECT_TRUE(c.NoteLookup(6));
}

TEST(PrimeClaimsTest, AClaimIsTakenOnceAndAReleaseOrAForgetOpensItAgain) {
  PrimeClaims c;
  EXPECT_TRUE(c.Claim(7));
  EXPECT_FALSE(c.Claim(7)) << "a second walk would list it twice";
  EXPECT_FALSE(c.NoteLookup(7));
  EXPECT_FALSE(c.NoteLookup(7)) << "lookups do not claim what is claimed";
  c.Release(7);  // the walk did not get to it
  EXPECT_FALSE(c.NoteLookup(7));
  EXPECT_TRUE(c.NoteLookup(7));
  c.Forget(7);  // the kernel dropped it, and the entries it was given
  EXPECT_TRUE(c.Claim(7));
}

}  // namespace
}  // namespace cifs
