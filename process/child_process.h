// A child process started from an argument vector (never a shell), in its own
// session, optionally as another user, with stdout and stderr on one pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace cifs {

struct RunAs {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

struct ChildSpec {
  std::string exe;                 // absolute path
  std::vector<std::string> argv;   // argv[0] included
  std::vector<std::string> env;    // the whole environment, NAME=value
  int cwd_fd = -1;                 // directory to start in
  std::optional<RunAs> run_as;
};

class ChildProcess {
 public:
  static Result<ChildProcess> Start(const ChildSpec& spec);

  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();  // kills a child still running, and reaps it

  pid_t pid() const { return pid_; }
  // Non-blocking read end of the child's stdout+stderr.
  int output_fd() const { return out_.get(); }
  // Readable once the child exited (a pidfd): a daemon the child started
  // may keep the output pipe open long after.
  int exit_fd() const { return exit_.get(); }

  // Exit status once it exited (shell convention: 128+N for signal N), else
  // nothing. Never blocks.
  std::optional<int> Poll();
  int Wait();
  void Signal(int sig) const;
  // Signals the child's whole process group (its session).
  void SignalGroup(int sig) const;

 private:
  ChildProcess(pid_t pid, UniqueFd out, UniqueFd exit) : pid_(pid), out_(std::move(out)), exit_(std::move(exit)) {}
  pid_t pid_ = -1;
  UniqueFd out_;
  UniqueFd exit_;
  std::optional<int> status_;
};

// Kills `pid` and everything below it: stops the whole tree first so nothing
// forks away while it is being collected.
void KillProcessTree(pid_t pid);

// Kills every process running as `uid` (not root): a helper becomes `uid`
// and sends SIGKILL to all it may signal, which the kernel does in one pass,
// so nothing forks away. Needs root.
void KillAllProcessesOf(uid_t uid);

struct Finished {
  int exit_code = 0;   // shell convention, as ChildProcess::Wait
  std::string output;  // stdout and stderr, at most `max_output` bytes of it
  bool timed_out = false;
};
// Runs `spec` to its end, killed after `timeout`. `on_output`, when set, sees
// the output as it comes, in the pieces it is read in.
Result<Finished> RunToEnd(const ChildSpec& spec, std::chrono::milliseconds timeout, size_t max_output = 65536,
                          const std::function<void(std::string_view)>& on_output = {});


}  // namespace cifs
