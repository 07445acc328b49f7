#include "farmserver/exec/scheduler.h"

#include <algorithm>

#include "common/random_hex.h"

namespace cifs {

bool PlatformFits(const PlatformProps& asked, const PlatformProps& offered) {
  return std::includes(offered.begin(), offered.end(), asked.begin(), asked.end());
}

std::string DescribePlatform(const PlatformProps& props) {
  if (props.empty()) return "(no properties)";
  std::string out;
  for (const auto& [k, v] : props) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

PlatformProps ParsePlatform(const std::vector<std::string>& flags) {
  PlatformProps out;
  for (const auto& f : flags) {
    auto eq = f.find('=');
    if (eq != std::string::npos) out.insert({f.substr(0, eq), f.substr(eq + 1)});
  }
  return out;
}

namespace {

// Where the result goes is part of the key: an action whose result only its
// caller trusts (it asked for the network) is never shared with another.
std::string DedupKey(const ExecTask& t) {
  return t.instance + "/" + t.action_digest.ToString() + "/" + t.result_tier;
}

re::ExecuteResponse ErrorResponse(int code, const std::string& message) {
  re::ExecuteResponse r;
  r.mutable_status()->set_code(code);
  r.mutable_status()->set_message(message);
  return r;
}

}  // namespace

Result<std::shared_ptr<Operation>> Scheduler::Submit(ExecTask task) {
  std::lock_guard lock(mu_);
  if (shutdown_) return Status::Unavailable("the farm is shutting down");
  ExpireLocked();
  bool fits = std::any_of(options_.platforms.begin(), options_.platforms.end(),
                          [&](const PlatformProps& p) { return PlatformFits(task.platform, p); }) ||
              std::any_of(workers_.begin(), workers_.end(),
                          [&](const auto& w) { return PlatformFits(task.platform, w.second); });
  if (!fits) {
    return Status::FailedPrecondition("no worker of this farm offers platform " + DescribePlatform(task.platform));
  }
  const bool shareable = !task.action.do_not_cache();
  const std::string key = DedupKey(task);
  if (shareable) {
    auto it = in_flight_.find(key);
    if (it != in_flight_.end()) {
      deduplicated_++;
      return it->second;
    }
  }
  auto name = RandomHex(16);
  if (!name) return Status::Internal("no randomness for an operation name");
  auto op = std::make_shared<Operation>("operations/" + *name, std::move(task));
  ops_[op->name()] = op;
  if (shareable) in_flight_[key] = op;
  queue_.push_back(op);
  work_cv_.notify_one();
  return op;
}

std::shared_ptr<Operation> Scheduler::Find(const std::string& name) {
  std::lock_guard lock(mu_);
  ExpireLocked();
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second;
}

OpView Scheduler::Wait(const Operation& op, uint64_t seen, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  changed_cv_.wait_until(lock, deadline, [&] { return op.version_ > seen || shutdown_; });
  return {op.stage_, op.version_, op.response_};
}

void Scheduler::Watch(Operation& op) {
  std::lock_guard lock(mu_);
  op.watchers_++;
}

void Scheduler::Unwatch(Operation& op) {
  std::lock_guard lock(mu_);
  if (--op.watchers_ == 0) op.unwatched_since_ = std::chrono::steady_clock::now();
}

void Scheduler::ReapAbandoned() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  auto abandoned = [&](const Operation& op) {
    return op.watchers_ == 0 && now - op.unwatched_since_ > options_.abandon_after;
  };
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (abandoned(**it)) {
      CompleteLocked(**it, ErrorResponse(1 /* CANCELLED */, "nobody waited for it any more"));
      it = queue_.erase(it);
      cancelled_++;
    } else {
      ++it;
    }
  }
  for (auto& [name, op] : ops_) {
    if (op->stage_ == OpStage::kExecuting && !op->cancel_requested_ && abandoned(*op)) {
      op->cancel_requested_ = true;
      cancelled_++;
    }
  }
}

bool Scheduler::CancelRequested(const Operation& op) {
  std::lock_guard lock(mu_);
  return op.cancel_requested_;
}

void Scheduler::WorkerJoined(const std::string& worker, const PlatformProps& offered) {
  std::lock_guard lock(mu_);
  workers_[worker] = offered;
}

void Scheduler::WorkerLeft(const std::string& worker) {
  std::lock_guard lock(mu_);
  workers_.erase(worker);
}

std::shared_ptr<Operation> Scheduler::Take(const std::string& worker, const PlatformProps& offered,
                                           std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  std::shared_ptr<Operation> taken;
  work_cv_.wait_until(lock, deadline, [&] {
    if (shutdown_) return true;
    auto it = std::find_if(queue_.begin(), queue_.end(),
                           [&](const auto& op) { return PlatformFits(op->task().platform, offered); });
    if (it == queue_.end()) return false;
    taken = *it;
    queue_.erase(it);
    return true;
  });
  if (!taken) return nullptr;
  auto next = NextOpStage(taken->stage_, OpEvent::kAssigned);
  if (!next) return nullptr;  // cannot happen: only queued operations are in the queue
  taken->stage_ = *next;
  taken->worker_ = worker;
  taken->attempts_++;
  ChangedLocked(*taken);
  return taken;
}

bool Scheduler::Answer(const std::shared_ptr<Operation>& op, const std::string& worker,
                       re::ExecuteResponse response) {
  std::lock_guard lock(mu_);
  if (op->worker_ != worker || !NextOpStage(op->stage_, OpEvent::kAnswered)) return false;
  CompleteLocked(*op, std::move(response));
  return true;
}

void Scheduler::Declined(const std::shared_ptr<Operation>& op, const std::string& worker) {
  std::lock_guard lock(mu_);
  if (op->worker_ != worker) return;
  auto next = NextOpStage(op->stage_, OpEvent::kDeclined);
  if (!next) return;
  op->stage_ = *next;
  op->worker_.clear();
  op->attempts_--;
  queue_.push_front(op);
  ChangedLocked(*op);
  work_cv_.notify_one();
}

void Scheduler::Lost(const std::shared_ptr<Operation>& op, const std::string& worker, const std::string& why) {
  std::lock_guard lock(mu_);
  if (op->worker_ != worker || op->stage_ != OpStage::kExecuting) return;
  op->worker_.clear();
  if (op->attempts_ >= options_.max_attempts || shutdown_ || op->cancel_requested_) {
    CompleteLocked(*op, ErrorResponse(14 /* UNAVAILABLE */, "gave up after " + std::to_string(op->attempts_) +
                                                                " workers were lost running it; last: " + why));
    return;
  }
  auto next = NextOpStage(op->stage_, OpEvent::kWorkerLost);
  if (!next) return;
  op->stage_ = *next;
  retried_++;
  queue_.push_front(op);  // it waited its turn already
  ChangedLocked(*op);
  work_cv_.notify_one();
}

void Scheduler::Shutdown() {
  std::lock_guard lock(mu_);
  shutdown_ = true;
  for (auto& op : queue_) {
    CompleteLocked(*op, ErrorResponse(14 /* UNAVAILABLE */, "the farm node is shutting down"));
  }
  queue_.clear();
  work_cv_.notify_all();
  changed_cv_.notify_all();
}

SchedulerStats Scheduler::Stats() {
  std::lock_guard lock(mu_);
  SchedulerStats s;
  s.queued = queue_.size();
  std::map<std::string, std::string> running;
  for (const auto& [name, op] : ops_) {
    if (op->stage_ != OpStage::kExecuting) continue;
    s.executing++;
    running[op->worker_] = name;
  }
  for (const auto& [name, platform] : workers_) s.workers.push_back({name, platform, running[name]});
  s.completed = completed_;
  s.deduplicated = deduplicated_;
  s.retried = retried_;
  s.cancelled = cancelled_;
  return s;
}

void Scheduler::CompleteLocked(Operation& op, re::ExecuteResponse response) {
  op.stage_ = OpStage::kCompleted;
  op.response_ = std::move(response);
  op.done_at_ = std::chrono::steady_clock::now();
  done_.push_back(op.name());
  auto it = in_flight_.find(DedupKey(op.task()));
  if (it != in_flight_.end() && it->second.get() == &op) in_flight_.erase(it);
  completed_++;
  ChangedLocked(op);
}

void Scheduler::ChangedLocked(Operation& op) {
  op.version_++;
  changed_cv_.notify_all();
}

void Scheduler::ExpireLocked() {
  // Completion order is expiry order: only the front can be due.
  auto now = std::chrono::steady_clock::now();
  while (!done_.empty()) {
    auto it = ops_.find(done_.front());
    if (it != ops_.end() && now - it->second->done_at_ <= options_.keep_done) break;
    if (it != ops_.end()) ops_.erase(it);
    done_.pop_front();
  }
}

}  // namespace cifs
