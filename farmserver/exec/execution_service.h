// REAPI Execution as Bazel 4.2.3 uses it: Execute answers a cache hit at
// once (cached_result), or queues the action on the scheduler and streams
// the operation until it completes; WaitExecution follows an operation again
// after a broken stream (NOT_FOUND once it is gone, and Bazel executes anew).
//
// Which tier a result lands in is decided here, by the farm: results the
// farm's sealed workers computed are trusted (docs/security.md), except for
// actions that asked for the network, whose outputs the requester could
// steer; those go to the requester's own tier.
#pragma once

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/exec/scheduler.h"
#include "farmserver/reapi/action_cache_service.h"
#include "store/content_store.h"

namespace cifs {

class ExecutionService final : public re::Execution::Service {
 public:
  ExecutionService(Scheduler* scheduler, ActionCacheService* ac, ContentStore* cas, Authenticator* auth)
      : scheduler_(scheduler), ac_(ac), cas_(cas), auth_(auth) {}

  grpc::Status Execute(grpc::ServerContext* ctx, const re::ExecuteRequest* req,
                       grpc::ServerWriter<google::longrunning::Operation>* writer) override;
  grpc::Status WaitExecution(grpc::ServerContext* ctx, const re::WaitExecutionRequest* req,
                             grpc::ServerWriter<google::longrunning::Operation>* writer) override;

 private:
  // Reads `digest` from the CAS and parses it as `out`.
  grpc::Status ReadProto(const re::Digest& digest, const char* what, google::protobuf::Message* out);
  // Writes `op`'s state whenever it moves, until it completes.
  grpc::Status Follow(grpc::ServerContext* ctx, const std::shared_ptr<Operation>& op,
                      grpc::ServerWriter<google::longrunning::Operation>* writer);

  Scheduler* scheduler_;
  ActionCacheService* ac_;
  ContentStore* cas_;
  Authenticator* auth_;
};

// The REAPI error for blobs Bazel must upload again.
grpc::Status MissingBlobs(const std::vector<re::Digest>& missing, const std::string& what);
// Checks a Command's paths (relative, no "..") and arguments.
Status ValidateCommand(const re::Command& command);

}  // namespace cifs
