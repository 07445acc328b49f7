// The one action a worker runs at a time, claimed by whichever node's link
// hands it work first. Every change moves the epoch, so the nodes told about
// it can order notices that reach them out of order.
#pragma once

#include <cstdint>
#include <mutex>

#include "cifs/v1/worker.pb.h"

namespace cifs {

class Slot {
 public:
  // True when the slot was free and is now `holder`'s. `now` is the state
  // after the call either way.
  bool Claim(const void* holder, v1::WorkerAvailability* now) {
    std::lock_guard lock(mu_);
    const bool claimed = holder_ == nullptr;
    if (claimed) {
      holder_ = holder;
      epoch_++;
    }
    Fill(now);
    return claimed;
  }
  v1::WorkerAvailability Release() {
    std::lock_guard lock(mu_);
    holder_ = nullptr;
    epoch_++;
    v1::WorkerAvailability now;
    Fill(&now);
    return now;
  }
  v1::WorkerAvailability Now() {
    std::lock_guard lock(mu_);
    v1::WorkerAvailability now;
    Fill(&now);
    return now;
  }

 private:
  void Fill(v1::WorkerAvailability* a) const {
    a->set_epoch(epoch_);
    a->set_busy(holder_ != nullptr);
  }

  std::mutex mu_;
  const void* holder_ = nullptr;
  uint64_t epoch_ = 1;
};

}  // namespace cifs
