#include "farmserver/cluster/node_liveness.h"

#include "common/clock.h"

namespace cifs {

NodeLiveness::NodeLiveness(std::string node, ClusterStore* store, TakeOver take_over, Logger* log,
                           std::chrono::milliseconds interval, std::chrono::milliseconds lease)
    : node_(std::move(node)),
      store_(store),
      take_over_(std::move(take_over)),
      log_(log),
      interval_(interval),
      lease_(lease) {}

NodeLiveness::~NodeLiveness() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status NodeLiveness::Start() {
  CIFS_RETURN_IF_ERROR(store_->Heartbeat(node_, NowMs() + lease_.count()));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void NodeLiveness::Beat() {
  if (Status s = store_->Heartbeat(node_, NowMs() + lease_.count()); !s.ok()) {
    log_->Warn("heartbeat_failed", {{"node", node_}, {"error", s.message()}});
    return;
  }
  auto taken = store_->TakeOverPullRequests(node_, NowMs());
  if (!taken.ok()) {
    log_->Warn("takeover_failed", {{"node", node_}, {"error", taken.status().message()}});
    return;
  }
  if (taken->empty()) return;
  log_->Info("pull_requests_taken_over", {{"node", node_}, {"count", taken->size()}});
  take_over_(*taken);
}

void NodeLiveness::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, interval_, [&] { return stopping_; })) return;
    }
    Beat();
  }
}

}  // namespace cifs
