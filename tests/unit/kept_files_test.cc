#include "farmserver/fs/kept_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace cifs {
namespace {

UniqueFd OpenThenRemove(const std::filesystem::path& p, const std::string& data) {
  std::ofstream(p) << data;
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  std::filesystem::remove(p);
  return fd;
}

TEST(KeptFilesTest, ARemovedFileReadsWhileKeptAndTheOldestGoesFirst) {
  auto dir = std::filesystem::temp_directory_path() / ("kept-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  KeptFiles kept;
  uint64_t first = kept.Keep(OpenThenRemove(dir / "a", "hello, kept world"));
  ASSERT_NE(first, 0u);
  std::string out;
  ASSERT_EQ(kept.Read(first, 7, 4, &out), 0);
  EXPECT_EQ(out, "kept");
  ASSERT_EQ(kept.Read(first, 12, 100, &out), 0);
  EXPECT_EQ(out, "world") << "a read past the end is short, as pread";
  EXPECT_EQ(kept.Read(first + 1000, 0, 4, &out), ESTALE) << "an id never given";

  uint64_t last = first;
  for (size_t i = 0; i < KeptFiles::kMaxKept; ++i) last = kept.Keep(OpenThenRemove(dir / "b", "b"));
  EXPECT_EQ(kept.Read(first, 0, 4, &out), ESTALE) << "the oldest was let go";
  ASSERT_EQ(kept.Read(last, 0, 4, &out), 0);
  EXPECT_EQ(out, "b");
  std::filesystem::remove_all(dir);
}

UniqueFd SparseRemoved(const std::filesystem::path& p, int64_t size) {
  UniqueFd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  EXPECT_EQ(::ftruncate(fd.get(), size), 0);
  std::filesystem::remove(p);
  return fd;
}

TEST(KeptFilesTest, TheDiskHeldByRemovedFilesIsBounded) {
  auto dir = std::filesystem::temp_directory_path() / ("kept-bytes-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  KeptFiles kept;
  EXPECT_EQ(kept.Keep(SparseRemoved(dir / "huge", KeptFiles::kMaxKeptBytes + 1)), 0u) << "too large alone";
  uint64_t first = kept.Keep(SparseRemoved(dir / "a", KeptFiles::kMaxKeptBytes / 2 + 1));
  uint64_t second = kept.Keep(SparseRemoved(dir / "b", KeptFiles::kMaxKeptBytes / 2 + 1));
  ASSERT_NE(first, 0u);
  ASSERT_NE(second, 0u);
  std::string out;
  EXPECT_EQ(kept.Read(first, 0, 1, &out), ESTALE) << "let go to stay within the bytes bound";
  EXPECT_EQ(kept.Read(second, 0, 1, &out), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cifs
