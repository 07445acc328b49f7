// What the store tests share: a directory per test, and a blob streamed in.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "store/content_store.h"

namespace cifs {

// A directory of the running test's own (prefix, pid, type parameter, test
// name), empty when made and removed with the object: a fixture declares it
// before the store it opens there, so the store closes first.
class TestDir {
 public:
  explicit TestDir(const std::string& prefix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = prefix + "-" + std::to_string(::getpid()) + "-";
    if (info->type_param() != nullptr) name += std::string(info->type_param()) + "-";
    path_ = std::filesystem::temp_directory_path() / (name + info->name());
    std::filesystem::remove_all(path_);
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Streams `data` into `store` as `digest`, `piece` bytes per append, and
// commits it.
inline Status WriteInPieces(ContentStore& store, const Digest& digest, std::string_view data, size_t piece) {
  auto w = store.OpenWrite(digest);
  if (!w.ok()) return w.status();
  for (size_t at = 0; at < data.size(); at += piece) CIFS_RETURN_IF_ERROR((*w)->Append(data.substr(at, piece)));
  return (*w)->Commit();
}

}  // namespace cifs
