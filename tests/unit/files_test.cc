#include "common/files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "common/unique_fd.h"

namespace cifs {
namespace {

std::filesystem::path TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(FilesTest, PreadFullReadsToTheRequestedSizeOrTheEndAndReportsErrors) {
  auto dir = TempDir("pread-full");
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::ofstream(dir / "f", std::ios::binary) << data;
  UniqueFd fd(::open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::string out(data.size(), '\0');
  ASSERT_EQ(PreadFull(fd.get(), out.data(), out.size(), 0), static_cast<ssize_t>(data.size()));
  EXPECT_EQ(out, data);
  // Past the end: short, as pread, and exactly what is there.
  out.assign(100, '\0');
  ASSERT_EQ(PreadFull(fd.get(), out.data(), out.size(), static_cast<int64_t>(data.size()) - 10), 10);
  EXPECT_EQ(out.substr(0, 10), data.substr(data.size() - 10));
  EXPECT_EQ(PreadFull(fd.get(), out.data(), out.size(), static_cast<int64_t>(data.size()) + 5), 0);
  // A pipe cannot be read at an offset: -1 and the errno pread gave.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  errno = 0;
  EXPECT_EQ(PreadFull(r.get(), out.data(), out.size(), 0), -1);
  EXPECT_EQ(errno, ESPIPE);
  std::filesystem::remove_all(dir);
}

TEST(FilesTest, ListDirNamesGivesEveryNameButDotsAndNamesAMissingDirectory) {
  auto dir = TempDir("list-names");
  std::ofstream(dir / "b") << "x";
  std::filesystem::create_directory(dir / "a");
  std::ofstream(dir / ".hidden") << "y";
  auto names = ListDirNames(dir.string());
  ASSERT_TRUE(names.ok()) << names.status().message();
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{".hidden", "a", "b"}));
  auto missing = ListDirNames((dir / "none").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find((dir / "none").string()), std::string::npos) << missing.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cifs
