// A fixed set of threads running queued tasks, with a bound on the queue: a
// caller that finds it full is told so at once (and can refuse its own
// caller, or drop work that was only an optimisation) instead of queueing
// without limit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cifs {

class TaskPool {
 public:
  TaskPool(int threads, size_t max_waiting);
  ~TaskPool();  // Stop()
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // False when the queue is full or the pool stopped (the task is not run).
  [[nodiscard]] bool TrySubmit(std::function<void()> task);
  // Tasks queued and not yet started.
  size_t waiting();
  // Drops what is still queued, waits for running tasks to end. Later
  // submissions fail.
  void Stop();

 private:
  void Run();

  const size_t max_waiting_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cifs
