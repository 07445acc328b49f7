#include "farmserver/builds/status_dedup.h"

#include <array>
#include <utility>

#include "common/ansi.h"

namespace cifs {
namespace {

constexpr std::array<std::string_view, 2> kClosing = {"INFO: Build completed", "FAILED: Build did NOT complete"};

bool IsClosing(const std::string& plain) {
  for (auto c : kClosing) {
    if (plain.starts_with(c)) return true;
  }
  return false;
}

// Whether an unfinished line may still turn into a closing status line.
bool MayBecomeClosing(const std::string& plain) {
  for (auto c : kClosing) {
    if (c.starts_with(plain) || plain.starts_with(c)) return true;
  }
  return false;
}

}  // namespace

std::string StatusLineDedup::Filter(std::string_view chunk) {
  std::string text = partial_;
  text.append(chunk);
  partial_.clear();
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(text.data() + start, nl + 1 - start);
    const std::string plain = StripAnsi(line.substr(0, line.size() - 1));
    if (!IsClosing(plain) || shown_.insert(plain).second) out.append(line);
    start = nl + 1;
  }
  std::string_view rest(text.data() + start, text.size() - start);
  if (MayBecomeClosing(StripAnsi(rest))) {
    partial_ = rest;
  } else {
    out.append(rest);
  }
  return out;
}

std::string StatusLineDedup::Flush() { return std::exchange(partial_, {}); }

}  // namespace cifs
