#include <gtest/gtest.h>

#include "identity/certificate_authority.h"
#include "identity/identity.h"

namespace cifs {
namespace {

TEST(IdentityTest, ClientCertificateCarriesNameRoleAndIssueTime) {
  auto ca = CertificateAuthority::Create("test CA", 1);
  ASSERT_TRUE(ca.ok());
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto c = ca->IssueClient("alice", Role::kLead, 1);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto id = IdentityFromPem(c->cert_pem);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->name, "alice");
  EXPECT_EQ(id->role, Role::kLead);
  EXPECT_GE(id->issued_ms, before);
  EXPECT_LT(id->issued_ms, before + 60000);
  EXPECT_NE(c->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos) << "Bazel needs PKCS#8 keys";
}

TEST(IdentityTest, CaRoundTripsThroughPem) {
  auto ca = CertificateAuthority::Create("test CA", 1);
  ASSERT_TRUE(ca.ok());
  auto loaded = CertificateAuthority::Load(ca->ca().key_pem, ca->ca().cert_pem);
  ASSERT_TRUE(loaded.ok());
  auto other = CertificateAuthority::Create("other", 1);
  EXPECT_FALSE(CertificateAuthority::Load(other->ca().key_pem, ca->ca().cert_pem).ok());
}

TEST(IdentityTest, BadNamesAndRolesAreRefused) {
  auto ca = CertificateAuthority::Create("test CA", 1);
  for (const char* bad : {"", "Alice", "a b", "../x", "-x", "a/b", "x\n"}) {
    EXPECT_FALSE(ca->IssueClient(bad, Role::kDev, 1).ok()) << bad;
  }
  EXPECT_FALSE(ParseRole("root").ok());
  EXPECT_TRUE(ParseRole("admin").ok());
  EXPECT_FALSE(ca->IssueServer({"bad name"}, 1).ok());
}

TEST(IdentityTest, ServerCertificateIsNotAClientIdentity) {
  auto ca = CertificateAuthority::Create("test CA", 1);
  auto s = ca->IssueServer({"localhost", "127.0.0.1"}, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(IdentityFromPem(s->cert_pem).ok());
  EXPECT_FALSE(IdentityFromPem("not a certificate").ok());
}

TEST(IdentityTest, RolesAreOrdered) {
  EXPECT_TRUE(RoleAtLeast(Role::kAdmin, Role::kLead));
  EXPECT_TRUE(RoleAtLeast(Role::kLead, Role::kDev));
  EXPECT_FALSE(RoleAtLeast(Role::kDev, Role::kLead));
}

}  // namespace
}  // namespace cifs
