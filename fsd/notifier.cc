#include "fsd/notifier.h"

namespace cifs {

void Notifier::Start(fuse_session* se) {
  se_ = se;
  thread_ = std::thread([this] { Run(); });
}

void Notifier::Push(std::vector<Invalidation> invals) {
  if (invals.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& i : invals) queue_.push_back(std::move(i));
  }
  cv_.notify_one();
}

void Notifier::Drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || stop_; });
}

void Notifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  idle_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::deque<Invalidation> batch;
    batch.swap(queue_);
    busy_ = true;
    lock.unlock();
    for (const auto& inv : batch) {
      // ENOENT means the kernel holds nothing for it: nothing to forget.
      if (inv.name.empty()) {
        fuse_lowlevel_notify_inval_inode(se_, inv.ino, 0, 0);
      } else {
        fuse_lowlevel_notify_inval_entry(se_, inv.ino, inv.name.c_str(), inv.name.size());
      }
    }
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace cifs
