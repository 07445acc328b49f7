#include "farmserver/exec/execution_service.h"

#include "farmserver/build_scopes.h"
#include "farmserver/fs/workspace_dir.h"
#include "farmserver/reapi/resource_name.h"
#include "common/grpc_status.h"
#include "common/names.h"
#include "reapi/missing_blobs.h"
#include "google/rpc/status.pb.h"

namespace cifs {

namespace {

constexpr char kNetworkProperty[] = "network";

google::longrunning::Operation ToOperation(const Operation& op, const OpView& view) {
  google::longrunning::Operation out;
  out.set_name(op.name());
  re::ExecuteOperationMetadata meta;
  switch (view.stage) {
    case OpStage::kQueued: meta.set_stage(re::ExecutionStage::QUEUED); break;
    case OpStage::kExecuting: meta.set_stage(re::ExecutionStage::EXECUTING); break;
    case OpStage::kCompleted: meta.set_stage(re::ExecutionStage::COMPLETED); break;
  }
  meta.mutable_action_digest()->set_hash(op.task().action_digest.hash);
  meta.mutable_action_digest()->set_size_bytes(op.task().action_digest.size);
  out.mutable_metadata()->PackFrom(meta);
  if (view.stage == OpStage::kCompleted) {
    out.set_done(true);
    re::ExecuteResponse response = view.response;
    // Bazel 4.2.3 reads the result even of an error.
    response.mutable_result();
    out.mutable_response()->PackFrom(response);
  }
  return out;
}

}  // namespace

grpc::Status MissingBlobs(const std::vector<re::Digest>& missing, const std::string& what) {
  std::vector<Digest> digests;
  for (const auto& d : missing) digests.push_back({d.hash(), d.size_bytes()});
  google::rpc::Status status = MissingBlobsStatus(digests, what + " is not in the CAS");
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, status.message(), status.SerializeAsString());
}

Status ValidateCommand(const re::Command& command) {
  if (command.arguments().empty()) return Status::InvalidArgument("the Command has no arguments");
  // The same rule as a path in a workspace: relative, no "", "." or "..".
  if (Status s = ValidateWorkspacePath(command.working_directory()); !s.ok()) {
    return Status::InvalidArgument("the Command's working directory: " + s.message());
  }
  for (const auto* list : {&command.output_files(), &command.output_directories(), &command.output_paths()}) {
    for (const auto& p : *list) {
      Status s = p.empty() ? Status::InvalidArgument("an output path is empty") : ValidateWorkspacePath(p);
      if (!s.ok()) return Status::InvalidArgument("output path: " + s.message());
    }
  }
  return Status::Ok();
}

grpc::Status ExecutionService::ReadProto(const re::Digest& digest, const char* what,
                                         google::protobuf::Message* out) {
  auto d = DigestFromProto(digest.hash(), digest.size_bytes());
  if (!d.ok()) return ToGrpc(d.status());
  auto data = cas_->Get(*d);
  if (!data.ok()) {
    if (data.status().code() == Status::Code::kNotFound) return MissingBlobs({digest}, std::string("the ") + what);
    return ToGrpc(data.status());
  }
  if (!out->ParseFromString(*data)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string("the ") + what + " " + d->ToString() +
                                                                " is not a valid " + what + " message");
  }
  return grpc::Status::OK;
}

grpc::Status ExecutionService::Execute(grpc::ServerContext* ctx, const re::ExecuteRequest* req,
                                       grpc::ServerWriter<google::longrunning::Operation>* writer) {
  auto id = auth_->FromContextOrBuilder(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto scope = ac_->ScopeOf(*id);
  if (!scope.ok()) return ToGrpc(scope.status());
  auto digest = DigestFromProto(req->action_digest().hash(), req->action_digest().size_bytes());
  if (!digest.ok()) return ToGrpc(digest.status());

  if (!req->skip_cache_lookup()) {
    re::GetActionResultRequest lookup;
    lookup.set_instance_name(req->instance_name());
    *lookup.mutable_action_digest() = req->action_digest();
    re::ExecuteResponse hit;
    if (ac_->Lookup(*scope, &lookup, hit.mutable_result()).ok()) {
      hit.set_cached_result(true);
      google::longrunning::Operation op;
      op.set_name("operations/cached-" + digest->hash);
      op.set_done(true);
      op.mutable_response()->PackFrom(hit);
      writer->Write(op);
      return grpc::Status::OK;
    }
  }

  ExecTask task;
  task.instance = req->instance_name();
  task.action_digest = *digest;
  if (auto s = ReadProto(req->action_digest(), "Action", &task.action); !s.ok()) return s;
  if (auto s = ReadProto(task.action.command_digest(), "Command", &task.command); !s.ok()) return s;
  if (Status s = ValidateCommand(task.command); !s.ok()) return ToGrpc(s);
  auto d = DigestFromProto(task.action.input_root_digest().hash(), task.action.input_root_digest().size_bytes());
  if (!d.ok()) return ToGrpc(Status::InvalidArgument("the Action's input root: " + d.status().message()));
  // v2.2 moved the platform into the Action; Bazel 4.2.3 sets it on the Command.
  const auto& platform = task.action.has_platform() ? task.action.platform() : task.command.platform();
  for (const auto& p : platform.properties()) {
    if (p.name() == kNetworkProperty) {
      if (p.value() != "on" && p.value() != "off") {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "platform property network must be on or off, not '" +
                                                                    p.value() + "'");
      }
      task.network = p.value() == "on";
    } else {
      task.platform.insert({p.name(), p.value()});
    }
  }
  if (!task.action.do_not_cache()) task.result_tier = task.network ? scope->write : kTrustedTier;
  auto op = scheduler_->Submit(std::move(task));
  if (!op.ok()) return ToGrpc(op.status());
  return Follow(ctx, *op, writer);
}

grpc::Status ExecutionService::WaitExecution(grpc::ServerContext* ctx, const re::WaitExecutionRequest* req,
                                             grpc::ServerWriter<google::longrunning::Operation>* writer) {
  auto id = auth_->FromContextOrBuilder(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  // The name is a 128-bit random capability handed to whoever executed it.
  auto op = scheduler_->Find(req->name());
  if (!op) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no operation " + req->name() + " on this node");
  return Follow(ctx, op, writer);
}

grpc::Status ExecutionService::Follow(grpc::ServerContext* ctx, const std::shared_ptr<Operation>& op,
                                      grpc::ServerWriter<google::longrunning::Operation>* writer) {
  // While someone follows it, the operation is wanted.
  struct Watching {
    Scheduler* s;
    Operation& op;
    Watching(Scheduler* s, Operation& op) : s(s), op(op) { s->Watch(op); }
    ~Watching() { s->Unwatch(op); }
  } watching(scheduler_, *op);
  uint64_t seen = 0;
  bool first = true;  // the state as it is now goes out at once
  for (;;) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away");
    auto deadline = std::chrono::steady_clock::now() + (first ? std::chrono::seconds(0) : std::chrono::seconds(1));
    OpView view = scheduler_->Wait(*op, seen, deadline);
    if (first || view.version != seen) {
      if (!writer->Write(ToOperation(*op, view))) return grpc::Status(grpc::StatusCode::CANCELLED, "stream closed");
      seen = view.version;
      first = false;
    }
    if (view.stage == OpStage::kCompleted) return grpc::Status::OK;
  }
}

}  // namespace cifs
