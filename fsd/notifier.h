// Sends the kernel its invalidations from one dedicated thread. Request
// handlers and the change follower only queue them: a notify call made
// from inside a request handler, or under a lock a handler needs, can
// deadlock against the kernel (it waits for the directory lock held by the
// very request that is waiting for us).
#pragma once

#include <fuse_lowlevel.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "fsd/inode_table.h"

namespace cifs {

class Notifier {
 public:
  Notifier() = default;
  ~Notifier() { Stop(); }
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Start(fuse_session* se);
  void Push(std::vector<Invalidation> invals);
  // Returns once everything queued so far has been sent.
  void Drain();
  void Stop();

 private:
  void Run();

  fuse_session* se_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Invalidation> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cifs
