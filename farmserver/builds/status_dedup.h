// Bazel without curses (as the farm runs it) prints its closing status line
// ("INFO: Build completed successfully, …") again each time it refreshes the
// screen before exiting: once when the build ends, again after uploading
// build events, and once more on exit. A build log shows it once.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace cifs {

class StatusLineDedup {
 public:
  // What of `chunk` (Bazel's output as it comes) goes into the log: every
  // line but a closing status line already shown. A line still arriving is
  // held back only while it may become such a line.
  std::string Filter(std::string_view chunk);
  // What was held back, at the end of the output.
  std::string Flush();

 private:
  std::string partial_;
  std::set<std::string> shown_;
};

}  // namespace cifs
