// Runs an action's command sealed off with bubblewrap: new user, mount, pid,
// IPC, UTS and network namespaces; the host's /usr and /etc read-only, the
// action's own input root read-write at /execroot, a private /tmp, and
// nothing else of the machine (no workspaces, no farm state, no other
// action's files). The network stays cut unless the action asked for it.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

struct SandboxSpec {
  std::string bwrap;      // the bubblewrap binary
  std::string execroot;   // host path of the input root
  std::string workdir;    // relative to it
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  bool network = false;
  std::string stdout_path;  // host paths, outside the execroot
  std::string stderr_path;
  std::chrono::milliseconds timeout{0};  // 0: none
  // Set (under `pid_mu`) to the sandbox's pid, its process group, from its
  // start until just before it is reaped, so another thread may kill it
  // under the same mutex; may be null.
  pid_t* running_pid = nullptr;
  std::mutex* pid_mu = nullptr;
};

struct SandboxResult {
  int exit_code = 0;
  bool timed_out = false;
};

// Where the input root appears inside the sandbox.
inline constexpr char kSandboxExecroot[] = "/execroot";

// bwrap's argument vector for `spec` (pure; unit-tested). `host_links` are
// the top-level symlinks of the host (e.g. /bin -> usr/bin) to recreate.
std::vector<std::string> BwrapArgv(const SandboxSpec& spec,
                                   const std::vector<std::pair<std::string, std::string>>& host_links);

// Runs `spec` and waits; past its timeout the whole sandbox is killed.
[[nodiscard]] Result<SandboxResult> RunSandboxed(const SandboxSpec& spec);

}  // namespace cifs
