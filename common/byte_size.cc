#include "common/byte_size.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

namespace cifs {

Result<int64_t> ParseByteSize(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return Status::InvalidArgument("size '" + text + "' does not start with a number");
  int64_t n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KiB" || unit == "k") shift = 10;
  else if (unit == "M" || unit == "MiB") shift = 20;
  else if (unit == "G" || unit == "GiB") shift = 30;
  else if (unit == "T" || unit == "TiB") shift = 40;
  else return Status::InvalidArgument("unknown size unit '" + unit + "' (use K, M, G or T)");
  if (n > (INT64_MAX >> shift)) return Status::InvalidArgument("size '" + text + "' is too large");
  return n << shift;
}

std::string FormatByteSize(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char out[32];
  std::snprintf(out, sizeof out, "%.1f %s", v, kUnits[u]);
  return out;
}

}  // namespace cifs
