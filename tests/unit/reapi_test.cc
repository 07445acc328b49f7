#include "reapi/missing_blobs.h"

#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"

namespace cifs {
namespace {

// Bazel 4.2.3 uploads again exactly the blobs named "blobs/HASH/SIZE" in
// MISSING violations of a FAILED_PRECONDITION; anything else fails the build.
TEST(MissingBlobsTest, NamesEachBlobTheWayBazelParsesIt) {
  const std::vector<Digest> missing = {{std::string(64, 'a'), 12}, {std::string(64, 'b'), 0}};
  google::rpc::Status s = MissingBlobsStatus(missing, "2 inputs are not in the CAS");
  EXPECT_EQ(s.code(), 9);
  EXPECT_EQ(s.message(), "2 inputs are not in the CAS");
  ASSERT_EQ(s.details_size(), 1);
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(s.details(0).UnpackTo(&failure));
  ASSERT_EQ(failure.violations_size(), 2);
  EXPECT_EQ(failure.violations(0).type(), "MISSING");
  EXPECT_EQ(failure.violations(0).subject(), "blobs/" + std::string(64, 'a') + "/12");
  EXPECT_EQ(failure.violations(1).subject(), "blobs/" + std::string(64, 'b') + "/0");
}

}  // namespace
}  // namespace cifs
