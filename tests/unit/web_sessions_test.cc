// Browser sign-in: a link works once and only for a while, becomes a session
// with the asker's user and role, and dies with a revocation; the database
// holds no usable token.
#include "farmserver/web/sessions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "metadata/sqlite_metadata_store.h"

namespace cifs {
namespace {

class WebSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("cifs-web-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    auto s = SqliteMetadataStore::Open(path_.string());
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    auth_ = std::make_unique<Authenticator>(store_.get(), store_->stores().revocation_changes, &builds_);
    ASSERT_TRUE(auth_->Load().ok());
    lee_.name = "lee";
    lee_.role = Role::kLead;
    lee_.issued_ms = NowMs() - 1000;
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  std::filesystem::path path_;
  BuildScopes builds_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<Authenticator> auth_;
  Identity lee_;
};

TEST_F(WebSessionsTest, ALinkSignsInOnceWithTheAskersRole) {
  WebSessions sessions(store_.get(), auth_.get());
  int64_t expires = 0;
  auto link = sessions.CreateLink(lee_, &expires);
  ASSERT_TRUE(link.ok());
  EXPECT_GT(expires, NowMs());
  auto raw = store_->GetWebSession(*link);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->has_value()) << "the token itself must not be stored";
  BrowserSession b;
  auto cookie = sessions.Redeem(*link, &b);
  ASSERT_TRUE(cookie.ok()) << cookie.status().message();
  EXPECT_EQ(b.identity.name, "lee");
  EXPECT_EQ(b.identity.role, Role::kLead);
  EXPECT_EQ(b.csrf.size(), 64u);
  auto found = sessions.Find(*cookie);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->identity.name, "lee");
  EXPECT_EQ(found->csrf, b.csrf);
  // Used: refused. A link is not a session, nor a session a link.
  EXPECT_EQ(sessions.Redeem(*link, &b).status().code(), Status::Code::kUnauthenticated);
  EXPECT_FALSE(sessions.Find(*link).ok());
  EXPECT_FALSE(sessions.Redeem(*cookie, &b).ok());
  ASSERT_TRUE(sessions.End(*cookie).ok());
  EXPECT_FALSE(sessions.Find(*cookie).ok());
}

TEST_F(WebSessionsTest, ExpiredLinksAndSessionsAreRefused) {
  WebSessions sessions(store_.get(), auth_.get(), {.link_ttl_ms = -1, .session_ttl_ms = 1});
  int64_t expires = 0;
  auto link = sessions.CreateLink(lee_, &expires);
  ASSERT_TRUE(link.ok());
  BrowserSession b;
  auto refused = sessions.Redeem(*link, &b);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cifs web login"), std::string::npos);
}

TEST_F(WebSessionsTest, RevokingTheUserEndsTheirSessions) {
  WebSessions sessions(store_.get(), auth_.get());
  int64_t expires = 0;
  BrowserSession b;
  auto cookie = sessions.Redeem(*sessions.CreateLink(lee_, &expires), &b);
  ASSERT_TRUE(cookie.ok());
  int64_t before = 0;
  ASSERT_TRUE(auth_->Revoke("lee", "admin", &before).ok());
  auto found = sessions.Find(*cookie);
  EXPECT_EQ(found.status().code(), Status::Code::kUnauthenticated);
  EXPECT_NE(found.status().message().find("revoked"), std::string::npos);
}

TEST_F(WebSessionsTest, GarbageTokensAreRefusedWithoutALookup) {
  WebSessions sessions(store_.get(), auth_.get());
  BrowserSession b;
  for (const std::string& t : std::vector<std::string>{"", "x", std::string(64, 'g'), std::string(63, 'a'), std::string("' OR 1=1 --")}) {
    EXPECT_FALSE(sessions.Find(t).ok()) << t;
    EXPECT_FALSE(sessions.Redeem(t, &b).ok()) << t;
  }
}

}  // namespace
}  // namespace cifs
