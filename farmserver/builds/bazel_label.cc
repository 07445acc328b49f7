#include "farmserver/builds/bazel_label.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "common/files.h"
#include "farmserver/builds/child_process.h"

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
  auto child = ChildProcess::Start(spec);
  if (!child.ok()) return "";
  std::string out;
  char buf[4096];
  // The pipe does not block; 10 s is plenty for either command.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    ssize_t n = ::read(child->output_fd(), buf, sizeof buf);
    if (n > 0) {
      if (out.size() < 65536) out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      child->SignalGroup(SIGKILL);
      break;
    }
    pollfd p{child->output_fd(), POLLIN, 0};
    ::poll(&p, 1, 200);
  }
  if (child->Wait() != 0) return "";
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
