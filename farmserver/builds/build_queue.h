// Admission for farm builds: at most `max_running` at once on the node and
// one per workspace (they share a Bazel output base); the rest wait in order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace cifs {

class BuildQueue {
 public:
  explicit BuildQueue(int max_running) : max_running_(max_running < 1 ? 1 : max_running) {}

  // A place in the queue. Destroying it leaves the queue, or frees the slot
  // once it ran.
  class Ticket;

 private:
  // Only the queue makes tickets.
  struct Passkey {
    explicit Passkey() = default;
  };
  struct Entry {
    std::string workspace;
    bool admitted = false;
  };

 public:
  class Ticket {
   public:
    Ticket(Passkey, BuildQueue* q, std::list<Entry>::iterator it) : queue_(q), it_(it) {}
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    // Waits up to `timeout` for a slot: 0 once admitted, else the place in
    // line (1 = next).
    int Wait(std::chrono::milliseconds timeout);

   private:
    BuildQueue* queue_;
    std::list<Entry>::iterator it_;
  };

  std::unique_ptr<Ticket> Enqueue(const std::string& workspace);

  int running() const;
  int waiting() const;

 private:
  void AdmitLocked();
  int PositionLocked(std::list<Entry>::iterator it) const;

  const int max_running_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::list<Entry> waiting_;
  std::list<Entry> running_;
  std::multiset<std::string> busy_;  // workspaces with a running build
};

}  // namespace cifs
