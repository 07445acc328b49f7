#include "farmserver/exec/worker_service.h"

#include "common/grpc_status.h"
#include "common/names.h"

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
  {
    WorkerInbox inbox(ctx, stream, msg.availability());
    using Clock = std::chrono::steady_clock;
    while (!ctx->IsCancelled() && !inbox.closed() && !scheduler_->shut_down()) {
      scheduler_->ReapAbandoned();
      // Busy with another node's action: nothing to hand out here.
      if (!inbox.WaitFree(Clock::now() + std::chrono::seconds(1))) continue;
      auto op = scheduler_->Take(worker, offered, Clock::now() + std::chrono::seconds(1));
      if (!op) continue;
      if (inbox.busy()) {  // it became busy while this waited for work
        scheduler_->Declined(op, worker);
        continue;
      }
      v1::WorkAssignment work;
      work.set_operation(op->name());
      work.mutable_action_digest()->set_hash(op->task().action_digest.hash);
      work.mutable_action_digest()->set_size_bytes(op->task().action_digest.size);
      *work.mutable_action() = op->task().action;
      *work.mutable_command() = op->task().command;
      work.set_network(op->task().network);
      std::optional<v1::WorkResult> answer;
      if (stream->Write(work)) answer = AwaitAnswer(*op, inbox, stream);
      if (!answer) {
        why = "the worker's stream broke while it ran " + op->name();
        scheduler_->Lost(op, worker, why);
        break;
      }
      if (answer->declined()) {
        scheduler_->Declined(op, worker);
        continue;
      }
      Record(*op, answer->response());
      if (!scheduler_->Answer(op, worker, answer->response())) {
        log_->Warn("late_worker_answer", {{"worker", worker}, {"operation", op->name()}});
      }
    }
  }
  scheduler_->WorkerLeft(worker);
  log_->Info("worker_left", {{"worker", worker}, {"why", why}});
  return grpc::Status::OK;
}

std::optional<v1::WorkResult> WorkerService::AwaitAnswer(
    const Operation& op, WorkerInbox& inbox, grpc::ServerReaderWriter<v1::WorkAssignment, v1::WorkerMessage>* stream) {
  bool cancel_sent = false;
  for (;;) {
    auto result = inbox.NextResult(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (result) {
      if (result->operation() == op.name()) return result;
      // A decline or answer that crossed a cancel: nothing waits for it.
      log_->Warn("stray_worker_answer", {{"operation", result->operation()}, {"expected", op.name()}});
      continue;
    }
    if (inbox.closed()) return std::nullopt;
    scheduler_->ReapAbandoned();
    if (!cancel_sent && scheduler_->CancelRequested(op)) {
      v1::WorkAssignment cancel;
      cancel.set_operation(op.name());
      cancel.set_cancel(true);
      cancel_sent = true;
      stream->Write(cancel);
      log_->Info("operation_cancelled", {{"operation", op.name()}, {"why", "nobody waits for it"}});
    }
  }
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
