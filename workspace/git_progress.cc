#include "workspace/git_progress.h"

#include <charconv>

namespace cifs {

namespace {

bool ParseCount(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}

}  // namespace

bool ParseGitProgressLine(std::string_view line, int64_t* done, int64_t* total) {
  size_t open = line.rfind('(');
  if (open == std::string_view::npos) return false;
  size_t close = line.find(')', open);
  if (close == std::string_view::npos) return false;
  std::string_view counts = line.substr(open + 1, close - open - 1);
  size_t slash = counts.find('/');
  if (slash == std::string_view::npos) return false;
  int64_t d = 0, t = 0;
  if (!ParseCount(counts.substr(0, slash), &d) || !ParseCount(counts.substr(slash + 1), &t) || d > t) return false;
  *done = d;
  *total = t;
  return true;
}

void GitProgressReader::Feed(std::string_view piece) {
  for (char c : piece) {
    if (c == '\r' || c == '\n') {
      int64_t done = 0, total = 0;
      if (!overlong_ && ParseGitProgressLine(line_, &done, &total)) on_count_(done, total);
      line_.clear();
      overlong_ = false;
    } else if (line_.size() < kMaxLine) {
      line_.push_back(c);
    } else {
      overlong_ = true;
    }
  }
}

}  // namespace cifs
