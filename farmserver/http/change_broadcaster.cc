#include "farmserver/http/change_broadcaster.h"

#include <algorithm>

namespace cifs {

ChangeBroadcaster::ChangeBroadcaster(ChangeSignal* changes, std::chrono::milliseconds coalesce,
                                     std::chrono::milliseconds keep_alive)
    : changes_(changes), coalesce_(coalesce), keep_alive_(keep_alive) {
  // Taken here, not on the thread: a change made before it runs is news.
  uint64_t seen = changes_->Generation();
  thread_ = std::thread([this, seen] { Run(seen); });
}

ChangeBroadcaster::~ChangeBroadcaster() { Stop(); }

std::string ChangeBroadcaster::Event(uint64_t generation) {
  return "event: change\ndata: {\"generation\":" + std::to_string(generation) + "}\n\n";
}

void ChangeBroadcaster::Add(std::shared_ptr<StreamSink> sink) {
  if (!sink->TryWrite(Event(changes_->Generation()))) return;
  std::lock_guard lock(mu_);
  if (!stopping_) sinks_.push_back(std::move(sink));
}

size_t ChangeBroadcaster::streams() {
  std::lock_guard lock(mu_);
  return sinks_.size();
}

void ChangeBroadcaster::Stop() {
  std::vector<std::shared_ptr<StreamSink>> gone;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    gone.swap(sinks_);
  }
  stop_cv_.notify_all();
  changes_->Bump();  // wakes the thread's wait
  if (thread_.joinable()) thread_.join();
}

void ChangeBroadcaster::Broadcast(const std::string& msg) {
  std::vector<std::shared_ptr<StreamSink>> sinks;
  {
    std::lock_guard lock(mu_);
    sinks = sinks_;
  }
  // Writes only queue (TryWrite never blocks), but they still happen outside
  // the lock so Add is never held up by a broadcast.
  std::vector<StreamSink*> dead;
  for (const auto& s : sinks) {
    if (!s->TryWrite(msg)) dead.push_back(s.get());
  }
  if (dead.empty()) return;
  std::lock_guard lock(mu_);
  std::erase_if(sinks_, [&](const std::shared_ptr<StreamSink>& s) {
    return std::find(dead.begin(), dead.end(), s.get()) != dead.end();
  });
}

void ChangeBroadcaster::Run(uint64_t seen) {
  auto quiet_since = std::chrono::steady_clock::now();
  for (;;) {
    uint64_t now = changes_->WaitForChange(seen, std::chrono::seconds(1));
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (now > seen) {
      seen = now;
      Broadcast(Event(seen));
      quiet_since = std::chrono::steady_clock::now();
      std::unique_lock lock(mu_);
      if (stop_cv_.wait_for(lock, coalesce_, [&] { return stopping_; })) return;
    } else if (std::chrono::steady_clock::now() - quiet_since > keep_alive_) {
      Broadcast(": keep-alive\n\n");
      quiet_since = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace cifs
