// A counter that grows with every change a store makes, and a wait for it to
// move: how live pages learn that builds or PRs changed without polling the
// tables. (A PostgreSQL store would drive it from LISTEN/NOTIFY.)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace cifs {

class ChangeSignal {
 public:
  void Bump() {
    {
      std::lock_guard lock(mu_);
      ++generation_;
    }
    cv_.notify_all();
  }
  uint64_t value() {
    std::lock_guard lock(mu_);
    return generation_;
  }
  // The generation once it is past `seen`, or as it is after `timeout`.
  uint64_t WaitPast(uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return generation_ > seen; });
    return generation_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 1;
};

}  // namespace cifs
