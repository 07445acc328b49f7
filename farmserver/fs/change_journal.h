// The recent changes of one workspace's farm-side tree, numbered, for the
// mounts that watch it. Bounded: a watcher that falls too far behind (or
// comes back after a farm restart, with another epoch) is told to reset.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace cifs {

class ChangeJournal {
 public:
  explicit ChangeJournal(size_t capacity = 100000);

  const std::string& epoch() const { return epoch_; }
  uint64_t seq();

  void Add(std::string path);
  // Changes were lost (e.g. the kernel's event queue overflowed).
  void AddReset();

  struct Batch {
    bool reset = false;
    uint64_t seq = 0;                // the last change included
    std::vector<std::string> paths;  // each once
  };
  // Changes after `after`, waiting up to `wait` for the first one; a short
  // pause after it gathers a burst (a checkout) into one batch.
  Batch Next(uint64_t after, std::chrono::milliseconds wait);

 private:
  const size_t capacity_;
  const std::string epoch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, std::string>> entries_;
  uint64_t seq_ = 0;
  uint64_t last_reset_ = 0;
};

}  // namespace cifs
