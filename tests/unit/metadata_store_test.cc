#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "metadata/sqlite_metadata_store.h"

namespace cifs {
namespace {

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("cifs-meta-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    auto s = SqliteMetadataStore::Open(path_.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  std::filesystem::path path_;
  std::unique_ptr<SqliteMetadataStore> store_;
};

TEST_F(MetadataStoreTest, BuildsListNewestFirstPerUser) {
  for (int i = 0; i < 3; ++i) {
    v1::Build b;
    b.set_id("b" + std::to_string(i));
    b.set_user(i == 1 ? "bob" : "alice");
    b.set_start_time_ms(1000 + i);
    ASSERT_TRUE(store_->UpsertBuild(b).ok());
  }
  auto alice = store_->ListBuilds("alice", 10);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].id(), "b2");
  EXPECT_EQ((*alice)[1].id(), "b0");
  EXPECT_EQ(store_->ListBuilds("", 10)->size(), 3u);
  EXPECT_EQ(store_->ListBuilds("", 1)->size(), 1u);
  v1::Build update = **store_->GetBuild("b0");
  update.set_finished(true);
  ASSERT_TRUE(store_->UpsertBuild(update).ok());
  EXPECT_TRUE((*store_->GetBuild("b0"))->finished());
  EXPECT_FALSE(store_->GetBuild("nope")->has_value());
}

TEST_F(MetadataStoreTest, LogReadsFromAnyOffset) {
  ASSERT_TRUE(store_->AppendBuildLog("b", 0, "hello ").ok());
  ASSERT_TRUE(store_->AppendBuildLog("b", 6, "world\n").ok());
  ASSERT_TRUE(store_->AppendBuildLog("b", 12, "done\n").ok());
  EXPECT_EQ(*store_->ReadBuildLog("b", 0, 1000), "hello world\ndone\n");
  EXPECT_EQ(*store_->ReadBuildLog("b", 3, 1000), "lo world\ndone\n");
  EXPECT_EQ(*store_->ReadBuildLog("b", 8, 3), "rld");
  EXPECT_EQ(*store_->ReadBuildLog("b", 17, 1000), "");
  EXPECT_EQ(*store_->ReadBuildLog("other", 0, 1000), "");
}

TEST_F(MetadataStoreTest, RevocationsPersist) {
  ASSERT_TRUE(store_->PutRevocation({"bob", 1234, "admin"}).ok());
  ASSERT_TRUE(store_->PutRevocation({"bob", 5678, "admin"}).ok());
  auto list = store_->ListRevocations();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].revoked_before_ms, 5678);
}

}  // namespace
}  // namespace cifs
