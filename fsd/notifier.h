// Sends the kernel its invalidations from one dedicated thread. Request
// handlers and the change follower only queue them: a notify call made
// from inside a request handler, or under a lock a handler needs, can
// deadlock against the kernel (it waits for the directory lock held by the
// very request that is waiting for us). It also hands the kernel contents
// to cache (CacheFill), in the same order as the invalidations.
#pragma once

#include <fuse_lowlevel.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "fsd/inode_table.h"

namespace cifs {

// A file's whole contents for the kernel's page cache, so its first read
// is not a request at all. Sent only if still_current() holds when its turn
// comes: a change applied before then makes it false, one applied after
// queues its invalidation behind the fill.
struct CacheFill {
  fuse_ino_t ino = 0;
  std::string data;
  std::function<bool()> still_current;
};

class Notifier {
 public:
  Notifier() = default;
  ~Notifier() { Stop(); }
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Start(fuse_session* se);
  void Push(std::vector<Invalidation> invals);
  // Dropped when kMaxFillBytes of fills already wait: a cache fill is only
  // a head start.
  void Fill(CacheFill fill);
  static constexpr size_t kMaxFillBytes = 16 << 20;
  struct FillCounts {
    int64_t sent = 0, stale = 0, dropped = 0;
  };
  FillCounts fill_counts() {
    std::lock_guard lock(mu_);
    return fill_counts_;
  }
  // Returns once everything queued so far has been sent.
  void Drain();
  void Stop();

 private:
  void Run();

  fuse_session* se_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::variant<Invalidation, CacheFill>> queue_;
  size_t fill_bytes_ = 0;  // queued in fills
  FillCounts fill_counts_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cifs
