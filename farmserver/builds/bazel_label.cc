#include "farmserver/builds/bazel_label.h"

#include <chrono>
#include <filesystem>

#include "common/files.h"
#include "process/child_process.h"

namespace cifs {
namespace {

// What `argv` prints on stdout (and stderr), or "" when it cannot run or fails.
std::string Output(const std::vector<std::string>& argv) {
  auto exe = FindExecutable(argv[0]);
  if (!exe.ok()) return "";
  ChildSpec spec;
  spec.exe = *exe;
  spec.argv = argv;
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent"};
  // 10 s is plenty for either command.
  auto done = RunToEnd(spec, std::chrono::seconds(10));
  if (!done.ok() || done->timed_out || done->exit_code != 0) return "";
  std::string out = std::move(done->output);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string DescribeBazel(const std::string& bazel) {
  // "bazel 4.2.3", or "bazel no_version" from a source build.
  const std::string said = Output({bazel, "--version"});
  if (said.starts_with("bazel ") && said != "bazel no_version" && said.find('\n') == std::string::npos) {
    return said.substr(6);
  }
  std::error_code ec;
  const std::string real = std::filesystem::canonical(bazel, ec).string();
  if (ec) return "unknown";
  // "bazel-bootstrap: /usr/bin/bazel"
  const std::string owner = Output({"dpkg-query", "-S", real});
  const auto colon = owner.find(':');
  if (colon == std::string::npos || owner.find('\n') != std::string::npos) return "unknown";
  const std::string package = owner.substr(0, colon);
  const std::string version = Output({"dpkg-query", "-W", "-f=${Version}", package});
  if (version.empty()) return "unknown";
  return version + " (Debian " + package + ")";
}

}  // namespace cifs
