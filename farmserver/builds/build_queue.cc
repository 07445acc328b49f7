#include "farmserver/builds/build_queue.h"

namespace cifs {

std::unique_ptr<BuildQueue::Ticket> BuildQueue::Enqueue(const std::string& workspace) {
  std::lock_guard lock(mu_);
  auto it = waiting_.insert(waiting_.end(), Entry{workspace, false});
  auto t = std::make_unique<Ticket>(Passkey{}, this, it);
  AdmitLocked();
  return t;
}

void BuildQueue::AdmitLocked() {
  // First come, first served, except that a build whose workspace is busy
  // lets later builds of other workspaces pass.
  for (auto it = waiting_.begin(); it != waiting_.end() && static_cast<int>(running_.size()) < max_running_;) {
    if (busy_.count(it->workspace)) {
      ++it;
      continue;
    }
    it->admitted = true;
    busy_.insert(it->workspace);
    auto next = std::next(it);
    running_.splice(running_.end(), waiting_, it);
    it = next;
  }
  changed_.notify_all();
}

int BuildQueue::PositionLocked(std::list<Entry>::iterator it) const {
  if (it->admitted) return 0;
  int pos = 1;
  for (auto w = waiting_.begin(); w != it; ++w) ++pos;
  return pos;
}

int BuildQueue::Ticket::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(queue_->mu_);
  queue_->changed_.wait_for(lock, timeout, [&] { return it_->admitted; });
  return queue_->PositionLocked(it_);
}

BuildQueue::Ticket::~Ticket() {
  std::lock_guard lock(queue_->mu_);
  if (it_->admitted) {
    queue_->busy_.erase(queue_->busy_.find(it_->workspace));
    queue_->running_.erase(it_);
  } else {
    queue_->waiting_.erase(it_);
  }
  queue_->AdmitLocked();
}

int BuildQueue::running() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(running_.size());
}

int BuildQueue::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(waiting_.size());
}

}  // namespace cifs
