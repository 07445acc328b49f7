#include "farmserver/exec/worker_inbox.h"

namespace cifs {

WorkerInbox::WorkerInbox(grpc::ServerContext* ctx, Stream* stream, v1::WorkerAvailability availability)
    : ctx_(ctx), availability_(std::move(availability)) {
  reader_ = std::thread([this, stream] { Read(stream); });
}

WorkerInbox::~WorkerInbox() {
  // A handler that leaves while the worker is still connected ends the call,
  // which ends the blocked Read.
  ctx_->TryCancel();
  reader_.join();
}

void WorkerInbox::Read(Stream* stream) {
  v1::WorkerMessage msg;
  while (stream->Read(&msg)) {
    std::lock_guard lock(mu_);
    // Notices can cross on the wire; only a newer one says what is true now.
    if (msg.has_availability() && msg.availability().epoch() >= availability_.epoch()) {
      availability_ = msg.availability();
    }
    if (msg.has_result()) results_.push_back(std::move(*msg.mutable_result()));
    cv_.notify_all();
  }
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

std::optional<v1::WorkResult> WorkerInbox::NextResult(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return closed_ || !results_.empty(); });
  if (results_.empty()) return std::nullopt;
  v1::WorkResult r = std::move(results_.front());
  results_.pop_front();
  return r;
}

bool WorkerInbox::WaitFree(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return closed_ || !availability_.busy(); });
  return !closed_ && !availability_.busy();
}

bool WorkerInbox::busy() {
  std::lock_guard lock(mu_);
  return availability_.busy();
}

bool WorkerInbox::closed() {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace cifs
