#include "common/bazel_kit.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace cifs {

namespace fs = std::filesystem;

namespace {
bool IsKit(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p / "rules_cc" / "cc" / "defs.bzl", ec) && fs::exists(p / "jni" / "libnetty_tcnative.so", ec);
}
}  // namespace

Result<std::string> FindBazelKit(const std::string& configured) {
  std::vector<fs::path> candidates;
  if (!configured.empty()) candidates.emplace_back(configured);
  if (const char* env = std::getenv("CIFS_BAZEL_KIT"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "cifs" / "bazel-kit");
  candidates.emplace_back(CIFS_KIT_BUILD_DIR);
  for (const auto& c : candidates) {
    if (IsKit(c)) return fs::canonical(c, ec).string();
  }
  return Status::NotFound("the offline Bazel kit was not found (looked in " + candidates.front().string() +
                          " and next to the cifs binary); build or install cifs, or set CIFS_BAZEL_KIT");
}

std::vector<std::string> KitBazelrcLines(const std::string& kit) {
  std::vector<std::string> lines;
  // Debian's Bazel lacks Netty's ALPN support for TLS; the kit's copy of the
  // netty-tcnative JNI library supplies it (a symlink is refused by Netty).
  lines.push_back("startup --host_jvm_args=-Djava.library.path=" + kit +
                  "/jni:/usr/lib/x86_64-linux-gnu/bazel:/usr/lib/x86_64-linux-gnu/jni");
  std::vector<std::pair<std::string, std::string>> repos = {
      {"rules_cc", kit + "/rules_cc"},
      {"remote_coverage_tools", kit + "/remote_coverage_tools"},
      {"rules_java", "/usr/share/bazel/rules/java"},
  };
  std::error_code ec;
  if (fs::exists("/usr/share/bazel/platforms", ec)) repos.emplace_back("platforms", "/usr/share/bazel/platforms");
  for (const char* cmd : {"build", "query", "fetch", "sync"}) {
    for (const auto& [name, dir] : repos) {
      lines.push_back(std::string(cmd) + " --override_repository=" + name + "=" + dir);
    }
  }
  lines.push_back("build --nosandbox_debug");
  // A fixed PATH in every action's environment: a local Bazel and the
  // farm's (which runs with its own PATH) then compute the same action keys
  // and share cache hits.
  lines.push_back("build --incompatible_strict_action_env");
  return lines;
}

}  // namespace cifs
