#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/unique_fd.h"
#include "farmserver/fs/file_hasher.h"

namespace cifs {
namespace {

TEST(FileHasherTest, HashesKeptOverARestartAreUsedOnlyForUnchangedFilesAndToldOnFirstUse) {
  auto dir = std::filesystem::temp_directory_path() / ("cifs-hasher-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "same") << "unchanged";
  std::ofstream(dir / "edited") << "before";
  // Files changed within the last two seconds are hashed every time (git's
  // racy case), never remembered: let these age past that window.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(dfd.valid());

  std::string snapshot;
  {
    FileHasher before;
    v1::Attr a, b;
    ASSERT_EQ(before.FullAttrAt(dfd.get(), "same", &a, INT64_MAX), 0);
    ASSERT_EQ(before.FullAttrAt(dfd.get(), "edited", &b, INT64_MAX), 0);
    EXPECT_EQ(a.hash(), ComputeDigest("unchanged").hash);
    snapshot = before.Snapshot();
  }
  std::ofstream(dir / "edited") << "after!";  // same size, new ctime

  std::vector<std::string> told;
  FileHasher after([&](const Digest& d, std::string path, const struct stat&) {
    told.push_back(path + " " + d.hash);
  });
  EXPECT_EQ(after.Restore("not a snapshot"), 0u);
  EXPECT_EQ(after.Restore(snapshot), 2u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "same").c_str(), &st), 0);
  std::string hash;
  ASSERT_TRUE(after.Known(st, &hash));
  EXPECT_EQ(hash, ComputeDigest("unchanged").hash);
  ASSERT_EQ(::stat((dir / "edited").c_str(), &st), 0);
  EXPECT_FALSE(after.Known(st, &hash)) << "a file edited since the snapshot kept its old hash";

  // A listing that uses a restored hash tells the farm's CAS where the file is, once.
  v1::Attr a;
  ASSERT_EQ(after.FullAttrAt(dfd.get(), "same", &a, INT64_MAX), 0);
  ASSERT_EQ(after.FullAttrAt(dfd.get(), "same", &a, INT64_MAX), 0);
  EXPECT_EQ(a.hash(), ComputeDigest("unchanged").hash);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], (dir / "same").string() + " " + ComputeDigest("unchanged").hash);
  v1::Attr e;
  ASSERT_EQ(after.FullAttrAt(dfd.get(), "edited", &e, INT64_MAX), 0);
  EXPECT_EQ(e.hash(), ComputeDigest("after!").hash);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cifs
