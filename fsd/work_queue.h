// A few threads running queued background work (prefetching listings the
// user is about to walk). Bounded: when full, new work is dropped, since
// prefetching is only ever an optimisation.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cifs {

class WorkQueue {
 public:
  WorkQueue(size_t threads, size_t capacity);
  ~WorkQueue() { Stop(); }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // False when the queue is full or stopped (the work is dropped).
  bool Post(std::function<void()> work);
  // Drops what is queued and waits for running work to end.
  void Stop();

 private:
  void Run();

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cifs
