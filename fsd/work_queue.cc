#include "fsd/work_queue.h"

namespace cifs {

WorkQueue::WorkQueue(size_t threads, size_t capacity) : capacity_(capacity) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

bool WorkQueue::Post(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
  return true;
}

void WorkQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkQueue::Run() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace cifs
