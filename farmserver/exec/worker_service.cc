#include "farmserver/exec/worker_service.h"

#include "common/grpc_status.h"
#include "common/names.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace cifs {

grpc::Status WorkerService::Work(grpc::ServerContext* ctx,
                                 grpc::ServerReaderWriter<v1::WorkAssignment, v1::WorkerMessage>* stream) {
  auto id = auth_->RequireWorker(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  v1::WorkerMessage msg;
  if (!stream->Read(&msg) || !msg.has_hello()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a worker says hello first");
  }
  if (Status s = ValidateName("worker", msg.hello().name()); !s.ok()) return ToGrpc(s);
  // One certificate may serve several worker processes of a node.
  const std::string worker = id->name + "/" + msg.hello().name();
  PlatformProps offered;
  for (const auto& p : msg.hello().platform()) offered.insert({p.name(), p.value()});
  scheduler_->WorkerJoined(worker, offered);
  log_->Info("worker_joined", {{"worker", worker}, {"platform", DescribePlatform(offered)}});
  std::string why = "the worker left";
  while (!ctx->IsCancelled()) {
    scheduler_->ReapAbandoned();
    auto op = scheduler_->Take(worker, offered, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (!op) {
      if (scheduler_->shut_down()) break;
      continue;
    }
    v1::WorkAssignment work;
    work.set_operation(op->name());
    work.mutable_action_digest()->set_hash(op->task().action_digest.hash);
    work.mutable_action_digest()->set_size_bytes(op->task().action_digest.size);
    *work.mutable_action() = op->task().action;
    *work.mutable_command() = op->task().command;
    work.set_network(op->task().network);
    v1::WorkerMessage answer;
    if (!stream->Write(work) || !AwaitAnswer(*op, stream, &answer)) {
      why = "the worker's stream broke while it ran " + op->name();
      scheduler_->Lost(op, worker, why);
      break;
    }
    if (!answer.has_result() || answer.result().operation() != op->name()) {
      why = "the worker answered something else than " + op->name();
      scheduler_->Lost(op, worker, why);
      break;
    }
    Record(*op, answer.result().response());
    if (!scheduler_->Answer(op, worker, answer.result().response())) {
      log_->Warn("late_worker_answer", {{"worker", worker}, {"operation", op->name()}});
    }
  }
  scheduler_->WorkerLeft(worker);
  log_->Info("worker_left", {{"worker", worker}, {"why", why}});
  return grpc::Status::OK;
}

bool WorkerService::AwaitAnswer(const Operation& op,
                                grpc::ServerReaderWriter<v1::WorkAssignment, v1::WorkerMessage>* stream,
                                v1::WorkerMessage* answer) {
  // Reading blocks until the worker answers; meanwhile this thread may have
  // to tell it that nobody waits any more (gRPC allows one reader and one
  // writer at a time).
  std::mutex mu;
  std::condition_variable cv;
  bool done = false, ok = false;
  std::thread reader([&] {
    bool got = stream->Read(answer);
    std::lock_guard lock(mu);
    ok = got;
    done = true;
    cv.notify_one();
  });
  bool cancel_sent = false;
  std::unique_lock lock(mu);
  while (!cv.wait_for(lock, std::chrono::seconds(1), [&] { return done; })) {
    scheduler_->ReapAbandoned();
    if (!cancel_sent && scheduler_->CancelRequested(op)) {
      v1::WorkAssignment cancel;
      cancel.set_operation(op.name());
      cancel.set_cancel(true);
      cancel_sent = true;
      lock.unlock();
      stream->Write(cancel);
      log_->Info("operation_cancelled", {{"operation", op.name()}, {"why", "nobody waits for it"}});
      lock.lock();
    }
  }
  lock.unlock();
  reader.join();
  return ok;
}

void WorkerService::Record(const Operation& op, const re::ExecuteResponse& response) {
  const ExecTask& task = op.task();
  // Failures are not cached: Bazel would replay a failure without running
  // the action again.
  if (task.result_tier.empty() || response.status().code() != 0 || response.result().exit_code() != 0) return;
  Status s = ac_->Put(task.result_tier, task.instance, task.action_digest, response.result().SerializeAsString());
  if (!s.ok()) log_->Warn("action_result_not_stored", {{"operation", op.name()}, {"error", s.message()}});
}

}  // namespace cifs
