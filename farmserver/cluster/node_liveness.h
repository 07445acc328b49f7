// A cluster node's pulse: it tells the shared store it is alive, and takes
// over the pull requests of nodes that stopped saying so (killed, cut off),
// so their validations and landings go on elsewhere.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "metadata/metadata_store.h"

namespace cifs {

class NodeLiveness {
 public:
  using TakeOver = std::function<void(const std::vector<int64_t>& numbers)>;

  // A node is dead once it missed `lease` worth of beats (sent every
  // `interval`).
  NodeLiveness(std::string node, ClusterStore* store, TakeOver take_over, Logger* log,
               std::chrono::milliseconds interval = std::chrono::seconds(2),
               std::chrono::milliseconds lease = std::chrono::seconds(10));
  ~NodeLiveness();
  NodeLiveness(const NodeLiveness&) = delete;
  NodeLiveness& operator=(const NodeLiveness&) = delete;

  // The first beat, before the node serves: a restarted node is alive again
  // before anyone takes over its PRs.
  [[nodiscard]] Status Start();

 private:
  void Beat();
  void Run();

  const std::string node_;
  ClusterStore* store_;
  TakeOver take_over_;
  Logger* log_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds lease_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cifs
