// The queue of remote-execution operations on one node: Execute submits,
// workers take, answers reach everyone waiting on the operation.
//
// Identical in-flight actions (same instance and action digest, cacheable)
// share one operation. An operation stays findable for `keep_done` after it
// completed, so a caller whose stream broke can WaitExecution for it. A
// worker whose stream breaks loses its lease: the operation is queued again,
// up to `max_attempts` workers, then fails with UNAVAILABLE.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "build/bazel/remote/execution/v2/remote_execution.pb.h"
#include "common/digest.h"
#include "common/status.h"
#include "farmserver/exec/op_stage.h"

namespace cifs {

namespace re = build::bazel::remote::execution::v2;

using PlatformProps = std::set<std::pair<std::string, std::string>>;

// True when a worker offering `offered` may run an action asking `asked`.
bool PlatformFits(const PlatformProps& asked, const PlatformProps& offered);
std::string DescribePlatform(const PlatformProps& props);
// NAME=VALUE flags (checked by the options parser) as properties.
PlatformProps ParsePlatform(const std::vector<std::string>& flags);

struct ExecTask {
  std::string instance;
  Digest action_digest;
  re::Action action;
  re::Command command;
  PlatformProps platform;  // without the `network` property
  bool network = false;
  // Where the farm writes the result's action cache entry; empty: nowhere
  // (do_not_cache, or an action that asked for the network).
  std::string result_tier;
};

class Operation {
 public:
  Operation(std::string name, ExecTask task) : name_(std::move(name)), task_(std::move(task)) {}
  const std::string& name() const { return name_; }
  const ExecTask& task() const { return task_; }

 private:
  friend class Scheduler;
  const std::string name_;
  const ExecTask task_;
  // Guarded by the scheduler's mutex.
  OpStage stage_ = OpStage::kQueued;
  uint64_t version_ = 0;
  int attempts_ = 0;
  int watchers_ = 0;  // Execute / WaitExecution calls following it
  std::chrono::steady_clock::time_point unwatched_since_ = std::chrono::steady_clock::now();
  bool cancel_requested_ = false;
  std::string worker_;
  re::ExecuteResponse response_;
  std::chrono::steady_clock::time_point done_at_;
};

// What a waiter sees of an operation.
struct OpView {
  OpStage stage = OpStage::kQueued;
  uint64_t version = 0;
  re::ExecuteResponse response;  // set once kCompleted
};

struct WorkerView {
  std::string name;
  PlatformProps platform;
  std::string running;  // operation name, empty when idle
};

struct SchedulerStats {
  size_t queued = 0;
  size_t executing = 0;
  std::vector<WorkerView> workers;
  uint64_t completed = 0;
  uint64_t deduplicated = 0;
  uint64_t retried = 0;
  uint64_t cancelled = 0;  // operations nobody waited for any more
};

class Scheduler {
 public:
  struct Options {
    int max_attempts = 3;
    std::chrono::seconds keep_done{600};
    // An operation nobody follows for this long is cancelled: its callers
    // went away (Ctrl-C), and a broken stream comes back within it.
    std::chrono::milliseconds abandon_after{5000};
    // Platforms this node's workers are configured with: an action none of
    // them fits is refused at once instead of waiting for nobody.
    std::vector<PlatformProps> platforms;
  };
  explicit Scheduler(Options options) : options_(std::move(options)) {}

  // The operation running `task`, a new one or an identical one in flight.
  // FailedPrecondition when no worker platform fits it.
  Result<std::shared_ptr<Operation>> Submit(ExecTask task);
  // A queued, running or recently completed operation; nullptr otherwise.
  std::shared_ptr<Operation> Find(const std::string& name);
  // The operation's state once its version passes `seen`, or at `deadline`.
  OpView Wait(const Operation& op, uint64_t seen, std::chrono::steady_clock::time_point deadline);

  // A caller follows `op` (Execute, WaitExecution), or stops.
  void Watch(Operation& op);
  void Unwatch(Operation& op);
  // Cancels what nobody followed for `abandon_after`: a queued operation
  // completes as CANCELLED, a running one is marked for its worker.
  void ReapAbandoned();
  // The worker running `op` should stop it.
  bool CancelRequested(const Operation& op);

  // A worker's stream opened or closed (for stats and platform checks).
  void WorkerJoined(const std::string& worker, const PlatformProps& offered);
  void WorkerLeft(const std::string& worker);
  // The oldest queued operation `offered` fits, handed to `worker`; nullptr
  // at `deadline` or once Shutdown ran.
  std::shared_ptr<Operation> Take(const std::string& worker, const PlatformProps& offered,
                                  std::chrono::steady_clock::time_point deadline);
  // The worker holding `op` answered. False when it no longer held it.
  bool Answer(const std::shared_ptr<Operation>& op, const std::string& worker, re::ExecuteResponse response);
  // The worker holding `op` was busy elsewhere and did not start it: it
  // goes back to the front of the queue, no attempt counted.
  void Declined(const std::shared_ptr<Operation>& op, const std::string& worker);
  // The worker holding `op` went away without answering.
  void Lost(const std::shared_ptr<Operation>& op, const std::string& worker, const std::string& why);

  // Fails everything queued and wakes every waiter and worker.
  void Shutdown();
  bool shut_down() {
    std::lock_guard lock(mu_);
    return shutdown_;
  }
  SchedulerStats Stats();

 private:
  void CompleteLocked(Operation& op, re::ExecuteResponse response);
  void ExpireLocked();
  void ChangedLocked(Operation& op);

  const Options options_;
  std::mutex mu_;
  std::condition_variable work_cv_;     // something was queued
  std::condition_variable changed_cv_;  // an operation moved
  bool shutdown_ = false;
  std::deque<std::shared_ptr<Operation>> queue_;
  std::map<std::string, std::shared_ptr<Operation>> ops_;  // by name, until expired
  std::deque<std::string> done_;  // completed operations' names, oldest first
  std::map<std::string, std::shared_ptr<Operation>> in_flight_;  // by instance + action digest
  std::map<std::string, PlatformProps> workers_;
  uint64_t completed_ = 0;
  uint64_t deduplicated_ = 0;
  uint64_t retried_ = 0;
  uint64_t cancelled_ = 0;
};

}  // namespace cifs
