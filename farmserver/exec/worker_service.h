// cifs.v1.Workers: the farm's side of a worker's stream. One call per worker
// for as long as it runs; while the worker says it is free it hands out what
// the scheduler gives, and writes the action cache entry of each answer
// itself (the worker cannot). In a cluster every node's workers dial every
// node, so one build's actions run on all of them.
#pragma once

#include "cifs/v1/worker.grpc.pb.h"
#include "common/log.h"
#include "farmserver/auth.h"
#include "farmserver/exec/scheduler.h"
#include "farmserver/exec/worker_inbox.h"
#include "store/action_cache.h"

namespace cifs {

class WorkerService final : public v1::Workers::Service {
 public:
  WorkerService(Scheduler* scheduler, ActionCache* ac, Authenticator* auth, Logger* log)
      : scheduler_(scheduler), ac_(ac), auth_(auth), log_(log) {}

  grpc::Status Work(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<v1::WorkAssignment, v1::WorkerMessage>* stream) override;

 private:
  // Waits for the worker's answer to `op`, telling it to stop once nobody
  // waits for `op` any more. nullopt when the stream broke.
  std::optional<v1::WorkResult> AwaitAnswer(const Operation& op, WorkerInbox& inbox,
                                            grpc::ServerReaderWriter<v1::WorkAssignment, v1::WorkerMessage>* stream);
  // Stores a successful result where the operation's task says.
  void Record(const Operation& op, const re::ExecuteResponse& response);

  Scheduler* scheduler_;
  ActionCache* ac_;
  Authenticator* auth_;
  Logger* log_;
};

}  // namespace cifs
