// Git's progress meter, read from its output as it comes: git writes
// "Updating files:  45% (1234/2743)\r" about once a second and ends with
// "Updating files: 100% (2743/2743), done.\n", to a pipe as to a terminal.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cifs {

// The counts of one meter line; false when `line` is not one.
bool ParseGitProgressLine(std::string_view line, int64_t* done, int64_t* total);

class GitProgressReader {
 public:
  using OnCount = std::function<void(int64_t done, int64_t total)>;
  explicit GitProgressReader(OnCount on_count) : on_count_(std::move(on_count)) {}

  // Takes output in whatever pieces it was read in.
  void Feed(std::string_view piece);

 private:
  // Longer lines are not git's meter: they are dropped, not kept growing.
  static constexpr size_t kMaxLine = 1024;
  OnCount on_count_;
  std::string line_;
  bool overlong_ = false;
};

}  // namespace cifs
