#include "common/ansi.h"

namespace cifs {

std::string StripAnsi(std::string_view s, bool drop_cr) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= '@' && s[i] <= '~')) ++i;  // up to the final byte
      continue;
    }
    if (drop_cr && s[i] == '\r') continue;
    out += s[i];
  }
  return out;
}

}  // namespace cifs
