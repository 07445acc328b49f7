// Which credentials the farm offers an upstream git server, and the file's
// refusals (a world-readable file, a line without a user).
#include "workspace/git_credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace cifs {
namespace {

TEST(GitCredentialsTest, PicksSchemeHostPortAndLongestPathPrefix) {
  auto creds = GitCredentials::Parse(
      "# farm's accounts\n"
      "https://bot:any@git.example.com\n"
      "https://team-bot:t%40am@git.example.com/team\n"
      "https://other:x@git.example.com:8443\n"
      "\n");
  ASSERT_TRUE(creds.ok()) << creds.status().message();
  EXPECT_EQ(creds->size(), 3u);
  auto user_for = [&](const std::string& url) {
    const auto* e = creds->Find(url);
    return e ? e->user : std::string("(none)");
  };
  EXPECT_EQ(user_for("https://git.example.com/a/b.git"), "bot");
  EXPECT_EQ(user_for("https://git.example.com/team/b.git"), "team-bot");
  EXPECT_EQ(creds->Find("https://git.example.com/team/b.git")->secret, "t@am");
  EXPECT_EQ(user_for("https://git.example.com/teamwork/b.git"), "bot");  // whole segments only
  EXPECT_EQ(user_for("https://git.example.com:8443/a.git"), "other");
  EXPECT_EQ(user_for("http://git.example.com/a.git"), "(none)");  // never sent over plain http
  EXPECT_EQ(user_for("https://evil.example.com/a.git"), "(none)");
  EXPECT_EQ(user_for("https://git.example.com.evil.org/a.git"), "(none)");
}

TEST(GitCredentialsTest, BadLinesAreNamedWithoutTheirSecret) {
  auto no_user = GitCredentials::Parse("https://git.example.com/x\n");
  EXPECT_FALSE(no_user.ok());
  EXPECT_NE(no_user.status().message().find("line 1"), std::string::npos);
  auto garbage = GitCredentials::Parse("\nhunter2\n");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(garbage.status().message().find("hunter2"), std::string::npos);
}

TEST(GitCredentialsTest, RefusesAFileOthersMayRead) {
  std::string path = ::testing::TempDir() + "/git-credentials-" + std::to_string(::getpid());
  std::ofstream(path) << "https://bot:s3cret@git.example.com\n";
  ::chmod(path.c_str(), 0644);
  auto open = GitCredentials::Load(path);
  EXPECT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  auto closed = GitCredentials::Load(path);
  ASSERT_TRUE(closed.ok()) << closed.status().message();
  EXPECT_EQ(closed->size(), 1u);
  std::filesystem::remove(path);
  EXPECT_FALSE(GitCredentials::Load(path).ok());
}

}  // namespace
}  // namespace cifs
