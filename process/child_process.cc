#include "process/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace cifs {

namespace {

// What the child reports when it fails before exec.
struct ExecError {
  char what[24];
  int err;
};

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child between fork and exec only async-signal-safe calls are made.
[[noreturn]] void ExecChild(const ChildSpec& spec, char* const* argv, char* const* envp, int out_fd, int err_fd) {
  auto fail = [err_fd](const char* what) {
    ExecError e{};
    e.err = errno;
    for (size_t i = 0; what[i] && i + 1 < sizeof e.what; ++i) e.what[i] = what[i];
    (void)!::write(err_fd, &e, sizeof e);
    ::_exit(127);
  };
  if (::setsid() < 0) fail("setsid");
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || ::dup2(null, 0) < 0) fail("stdin");
  if (::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) fail("stdout");
  if (spec.cwd_fd >= 0 && ::fchdir(spec.cwd_fd) < 0) fail("fchdir");
  // The child gets stdin, stdout and stderr, nothing else of the parent's:
  // a descriptor opened without O_CLOEXEC (a library's socket, a user's
  // connection) must not reach a build. The error pipe closes at exec too.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail("close_range");
  if (spec.run_as) {
    if (::setgroups(spec.run_as->groups.size(), spec.run_as->groups.data()) < 0) fail("setgroups");
    if (::setgid(spec.run_as->gid) < 0) fail("setgid");
    if (::setuid(spec.run_as->uid) < 0) fail("setuid");
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(spec.exe.c_str(), argv, envp);
  fail("execve");
  ::_exit(127);  // fail() never returns; this tells the compiler
}

}  // namespace

Result<ChildProcess> ChildProcess::Start(const ChildSpec& spec) {
  if (spec.exe.empty() || spec.exe[0] != '/') return Status::InvalidArgument("executable must be an absolute path");
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return Status::Internal(std::string("pipe: ") + std::strerror(errno));
  UniqueFd out_r(out[0]), out_w(out[1]);
  // Reports a failure between fork and exec; closes on a successful exec.
  if (::pipe2(err, O_CLOEXEC) < 0) return Status::Internal(std::string("pipe: ") + std::strerror(errno));
  UniqueFd err_r(err[0]), err_w(err[1]);
  auto argv = CStrings(spec.argv);
  auto envp = CStrings(spec.env);
  pid_t pid = ::fork();
  if (pid < 0) return Status::Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) ExecChild(spec, argv.data(), envp.data(), out_w.get(), err_w.get());
  out_w.reset();
  err_w.reset();
  ExecError e{};
  ssize_t n;
  do {
    n = ::read(err_r.get(), &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof e)) {
    ::waitpid(pid, nullptr, 0);
    e.what[sizeof e.what - 1] = 0;
    return Status::Internal("cannot start " + spec.exe + ": " + e.what + ": " + std::strerror(e.err));
  }
  ::fcntl(out_r.get(), F_SETFL, ::fcntl(out_r.get(), F_GETFL) | O_NONBLOCK);
  UniqueFd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return ChildProcess(pid, std::move(out_r), std::move(exit_fd));
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), out_(std::move(o.out_)), exit_(std::move(o.exit_)), status_(o.status_) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    SignalGroup(SIGKILL);
    Wait();
  }
}

std::optional<int> ChildProcess::Poll() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

int ChildProcess::Wait() {
  while (!status_ && pid_ > 0) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, 0);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    } else if (r < 0 && errno != EINTR) {
      status_ = 255;
    }
  }
  return status_.value_or(255);
}

void ChildProcess::Signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

void ChildProcess::SignalGroup(int sig) const {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

void KillAllProcessesOf(uid_t uid) {
  if (uid == 0) return;
  for (int round = 0; round < 2; ++round) {  // the second catches a fork racing the first
    pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid == 0) {
      // Real uid too: kill(-1) reaches processes whose real or saved uid is ours.
      if (::setgroups(0, nullptr) < 0 || ::setresgid(uid, uid, uid) < 0 || ::setresuid(uid, uid, uid) < 0) {
        ::_exit(1);
      }
      ::kill(-1, SIGKILL);
      ::_exit(0);
    }
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void KillProcessTree(pid_t root) {
  auto children_of = [] {
    std::multimap<pid_t, pid_t> children;
    DIR* d = ::opendir("/proc");
    if (!d) return children;
    while (dirent* e = ::readdir(d)) {
      pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0) continue;
      std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      // Field 4 (ppid) follows the parenthesised command name, which may
      // itself hold spaces and parentheses.
      auto close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 1));
      char state;
      pid_t ppid;
      if (rest >> state >> ppid) children.emplace(ppid, pid);
    }
    ::closedir(d);
    return children;
  };
  // Stop, collect again (a stopped process forks no more), then kill.
  std::vector<pid_t> tree;
  for (int round = 0; round < 2; ++round) {
    auto children = children_of();
    tree = {root};
    for (size_t i = 0; i < tree.size(); ++i) {
      auto [lo, hi] = children.equal_range(tree[i]);
      for (auto it = lo; it != hi; ++it) tree.push_back(it->second);
    }
    for (pid_t p : tree) ::kill(p, SIGSTOP);
  }
  for (pid_t p : tree) ::kill(p, SIGKILL);
  for (pid_t p : tree) ::kill(p, SIGCONT);
}

Result<Finished> RunToEnd(const ChildSpec& spec, std::chrono::milliseconds timeout, size_t max_output,
                          const std::function<void(std::string_view)>& on_output) {
  auto child = ChildProcess::Start(spec);
  if (!child.ok()) return child.status();
  Finished f;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    ssize_t n = ::read(child->output_fd(), buf, sizeof buf);
    if (n > 0) {
      if (on_output) on_output(std::string_view(buf, static_cast<size_t>(n)));
      if (f.output.size() < max_output) f.output.append(buf, std::min(static_cast<size_t>(n), max_output - f.output.size()));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      child->SignalGroup(SIGKILL);
      f.timed_out = true;
      break;
    }
    pollfd p{child->output_fd(), POLLIN, 0};
    ::poll(&p, 1, 200);
  }
  f.exit_code = child->Wait();
  return f;
}

}  // namespace cifs
