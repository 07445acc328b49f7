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

void Notifier::Fill(CacheFill fill) {
  {
    std::lock_guard lock(mu_);
    if (fill_bytes_ + fill.data.size() > kMaxFillBytes) {
      ++fill_counts_.dropped;
      return;
    }
    fill_bytes_ += fill.data.size();
    queue_.push_back(std::move(fill));
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
    std::deque<std::variant<Invalidation, CacheFill>> batch;
    batch.swap(queue_);
    fill_bytes_ = 0;
    busy_ = true;
    lock.unlock();
    for (const auto& item : batch) {
      if (const auto* fill = std::get_if<CacheFill>(&item)) {
        bool current = fill->still_current();
        if (current) {
          fuse_bufvec buf = FUSE_BUFVEC_INIT(fill->data.size());
          buf.buf[0].mem = const_cast<char*>(fill->data.data());
          // ENOENT: the kernel forgot the inode meanwhile; nothing to fill.
          fuse_lowlevel_notify_store(se_, fill->ino, 0, &buf, fuse_buf_copy_flags{});
        }
        std::lock_guard count_lock(mu_);
        ++(current ? fill_counts_.sent : fill_counts_.stale);
        continue;
      }
      const auto& inv = std::get<Invalidation>(item);
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
