// Text that others wrote (file contents, paths, titles, comments), made
// harmless for a terminal: an escape sequence in it could move the cursor,
// rewrite what was printed or retitle the window.
#pragma once

#include <string>

namespace cifs {

// `in` with control characters shown as ^X (tab and newline kept) and C1
// controls as <XX>.
std::string ForTerminal(const std::string& in);
// ForTerminal(in) when stdout is a terminal, else `in` unchanged.
std::string ForStdout(const std::string& in);

}  // namespace cifs
