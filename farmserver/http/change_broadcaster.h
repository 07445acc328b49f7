// Tells every open /events/changes stream that builds, workspaces or pull
// requests changed. One thread for all of them: a stream costs its
// connection's memory, not a thread, so live pages are limited by memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

#include "farmserver/http/http_message.h"
#include "metadata/change_signal.h"

namespace cifs {

class ChangeBroadcaster {
 public:
  // A burst of changes within `coalesce` is one event; a quiet stream gets a
  // comment every `keep_alive`, which finds connections that went away.
  ChangeBroadcaster(ChangeSignal* changes, std::chrono::milliseconds coalesce = std::chrono::milliseconds(500),
                    std::chrono::milliseconds keep_alive = std::chrono::seconds(15));
  ~ChangeBroadcaster();  // Stop()
  ChangeBroadcaster(const ChangeBroadcaster&) = delete;
  ChangeBroadcaster& operator=(const ChangeBroadcaster&) = delete;

  // Sends the current generation to `sink` now, and every change after.
  void Add(std::shared_ptr<StreamSink> sink);
  // Lets every stream go (each ends) and stops the thread.
  void Stop();
  size_t streams();

  static std::string Event(uint64_t generation);

 private:
  void Run(uint64_t seen);
  // Sends `msg` to every stream, dropping those that are gone or too slow.
  void Broadcast(const std::string& msg);

  ChangeSignal* changes_;
  const std::chrono::milliseconds coalesce_, keep_alive_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<StreamSink>> sinks_;
  std::thread thread_;
};

}  // namespace cifs
