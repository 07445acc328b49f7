// Terminal output made plain: Bazel colours its lines (--color=yes), and
// whoever reads them from a file or matches them wants the text alone.
#pragma once

#include <string>
#include <string_view>

namespace cifs {

// `s` without ANSI CSI sequences ("\033[32m", "\033[2K", ...) and, with
// `drop_cr`, without carriage returns.
std::string StripAnsi(std::string_view s, bool drop_cr = false);

}  // namespace cifs
