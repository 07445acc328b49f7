#include "farmserver/build_scopes.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "farmserver/auth.h"
#include "identity/certificate_authority.h"
#include "metadata/sqlite_metadata_store.h"

namespace cifs {
namespace {

using Tiers = std::vector<std::string>;

TEST(BuildScopesTest, AValidationReadsOnlyTheTrustedTier) {
  CacheScope v = BuildCacheScope(BuildKind::kValidation, "alice", "b1");
  EXPECT_EQ(v.read, Tiers{"trusted"});
  EXPECT_EQ(v.write, "validation/b1");
}

TEST(BuildScopesTest, WhatADeveloperControlsWritesTheirOwnTier) {
  CacheScope farm = BuildCacheScope(BuildKind::kWorkspace, "alice", "b2");
  CacheScope local = UserCacheScope("alice");
  for (const auto& s : {farm, local}) {
    EXPECT_EQ(s.write, "user/alice");
    EXPECT_EQ(s.read, (Tiers{"trusted", "user/alice"}));
  }
  // No developer's scope writes a tier a validation reads.
  CacheScope v = BuildCacheScope(BuildKind::kValidation, "alice", "b2");
  for (const auto& tier : v.read) {
    EXPECT_NE(tier, farm.write);
    EXPECT_NE(tier, local.write);
  }
}

TEST(BuildScopesTest, ACredentialIsGoodWhileItsBuildIsRegistered) {
  BuildScopes scopes;
  EXPECT_FALSE(scopes.Find("b1"));
  scopes.Add({"b1", "bob", UserCacheScope("bob")});
  ASSERT_TRUE(scopes.Find("b1"));
  EXPECT_EQ(scopes.Find("b1")->user, "bob");
  EXPECT_FALSE(scopes.Find("b2"));
  scopes.Remove("b1");
  EXPECT_FALSE(scopes.Find("b1"));
}

// The authenticator refuses a build's certificate once its build is gone,
// and never mistakes one for a user.
TEST(BuildScopesTest, TheAuthenticatorAcceptsABuildCertificateOnlyWhileItsBuildRuns) {
  auto path = std::filesystem::temp_directory_path() / ("cifs-scopes-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto store = SqliteMetadataStore::Open(path.string());
    ASSERT_TRUE(store.ok());
    BuildScopes scopes;
    Authenticator auth(store->get(), (*store)->stores().revocation_changes, &scopes);
    auto ca = CertificateAuthority::Create("test CA", 1);
    ASSERT_TRUE(ca.ok());
    auto cert = ca->IssueClient("0b5c1d2e-aaaa-4bbb-8ccc-123456789abc", Role::kBuilder, 1);
    ASSERT_TRUE(cert.ok());
    auto refused = auth.FromPem(cert->cert_pem);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Status::Code::kUnauthenticated);
    EXPECT_NE(refused.status().message().find("ended with its build"), std::string::npos);
    scopes.Add({"0b5c1d2e-aaaa-4bbb-8ccc-123456789abc", "bob", UserCacheScope("bob")});
    auto accepted = auth.FromPem(cert->cert_pem);
    ASSERT_TRUE(accepted.ok());
    EXPECT_EQ(accepted->role, Role::kBuilder);
    scopes.Remove("0b5c1d2e-aaaa-4bbb-8ccc-123456789abc");
    EXPECT_FALSE(auth.FromPem(cert->cert_pem).ok());  // parsed before: still checked
    // A user's certificate needs no build.
    auto bob = ca->IssueClient("bob", Role::kDev, 1);
    ASSERT_TRUE(bob.ok());
    EXPECT_TRUE(auth.FromPem(bob->cert_pem).ok());
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

}  // namespace
}  // namespace cifs
