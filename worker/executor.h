// One action on this worker, start to end: input root laid out, command run
// in the sandbox, outputs and logs uploaded, the exec directory removed.
// Errors are answers (an ExecuteResponse status), never a crash of the worker.
#pragma once

#include <mutex>
#include <string>

#include "cifs/v1/worker.pb.h"
#include "worker/cas_client.h"
#include "worker/file_cache.h"

namespace cifs {

struct ExecutorOptions {
  std::string name;      // this worker, in results' metadata
  std::string dir;       // its directory: exec/ and cache/ below
  std::string bwrap = "/usr/bin/bwrap";
  std::chrono::seconds default_timeout{900};
  std::chrono::seconds max_timeout{3600};
  uint64_t cache_bytes = 10ull << 30;  // the file cache's bound
};

class Executor {
 public:
  explicit Executor(ExecutorOptions options)
      : options_(std::move(options)), cache_(options_.dir + "/cache", options_.cache_bytes) {}

  // Takes over from a predecessor (killed, or restarted): removes the exec
  // roots it left and learns what its file cache holds.
  void Recover();
  // Runs `work` with inputs from and outputs to `cas`: the CAS of the node
  // that handed it out. One at a time.
  re::ExecuteResponse Run(const v1::WorkAssignment& work, CasClient& cas);
  // Stops the action of `operation` if it is the one running ("" for any):
  // its sandbox is killed and Run answers CANCELLED. Any thread.
  void Cancel(const std::string& operation);

 private:
  // Run's work in `exec` (a fresh directory); the response's status says
  // what failed.
  Status RunIn(const v1::WorkAssignment& work, CasClient& cas, const std::string& exec,
               re::ExecuteResponse* response);

  ExecutorOptions options_;
  FileCache cache_;
  uint64_t runs_ = 0;
  std::mutex mu_;
  std::string current_;    // the operation Run works on
  bool cancelled_ = false;  // ... and it was cancelled
  pid_t sandbox_pid_ = 0;    // the running sandbox (RunSandboxed sets it)
};

}  // namespace cifs
