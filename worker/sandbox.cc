#include "worker/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

extern char** environ;

namespace cifs {

std::vector<std::string> BwrapArgv(const SandboxSpec& spec,
                                   const std::vector<std::pair<std::string, std::string>>& host_links) {
  std::vector<std::string> a = {spec.bwrap, "--unshare-all"};
  if (spec.network) a.push_back("--share-net");
  for (const char* flag : {"--die-with-parent", "--new-session", "--clearenv"}) a.push_back(flag);
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"});
  for (const auto& [path, target] : host_links) a.insert(a.end(), {"--symlink", target, path});
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
  a.insert(a.end(), {"--bind", spec.execroot, kSandboxExecroot});
  std::string cwd = kSandboxExecroot;
  if (!spec.workdir.empty()) cwd += "/" + spec.workdir;
  a.insert(a.end(), {"--chdir", cwd});
  for (const auto& [k, v] : spec.env) a.insert(a.end(), {"--setenv", k, v});
  a.push_back("--");
  a.insert(a.end(), spec.argv.begin(), spec.argv.end());
  return a;
}

namespace {

// Debian's merged /usr: /bin, /lib, /lib64, /sbin are links into it.
std::vector<std::pair<std::string, std::string>> HostLinks() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* p : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    char buf[256];
    ssize_t n = ::readlink(p, buf, sizeof(buf) - 1);
    if (n > 0) out.push_back({p, std::string(buf, static_cast<size_t>(n))});
  }
  return out;
}

}  // namespace

Result<SandboxResult> RunSandboxed(const SandboxSpec& spec) {
  std::vector<std::string> args = BwrapArgv(spec, HostLinks());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills everything it started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  pid_t pid;
  int err = posix_spawn(&pid, spec.bwrap.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return Status::Internal("cannot start " + spec.bwrap + ": " + std::strerror(err));

  auto publish = [&](pid_t value) {
    if (!spec.running_pid) return;
    std::lock_guard lock(*spec.pid_mu);
    *spec.running_pid = value;
  };
  publish(pid);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  SandboxResult result;
  if (pidfd.valid()) {
    // Until it exits (the pid stays its own until reaped) or times out.
    pollfd p{pidfd.get(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + spec.timeout;
    for (;;) {
      int wait_ms = -1;
      if (spec.timeout.count() > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX));
      }
      int ready = ::poll(&p, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        result.timed_out = true;
        ::kill(-pid, SIGKILL);
      }
      break;
    }
  }
  publish(0);  // from here on the pid may be reaped and reused
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace cifs
