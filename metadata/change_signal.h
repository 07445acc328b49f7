// A counter that grows with every change a store makes, and a wait for it to
// move: how live pages learn that builds or PRs changed without polling the
// tables. SQLite bumps it on its own writes; PostgreSQL from LISTEN/NOTIFY,
// so writes made by other nodes move it too.
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
  uint64_t Generation() {
    std::lock_guard lock(mu_);
    return generation_;
  }
  // The generation once it is past `seen`, or as it is after `timeout`.
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) {
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
