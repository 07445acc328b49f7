// Builds.RunBuild and Builds.CancelBuild: farm builds, watched live.
#include <cstring>

#include "farmserver/api/api_services.h"
#include "farmserver/api/response_limits.h"
#include "farmserver/builds/bazel_flags.h"
#include "farmserver/fs/workspace_dir.h"

namespace cifs {

namespace {

bool SameProgress(const v1::BuildProgress& a, const v1::BuildProgress& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace

grpc::Status BuildsService::RunBuild(grpc::ServerContext* ctx, const v1::RunBuildRequest* req,
                                     grpc::ServerWriter<v1::BuildUpdate>* writer) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto ws = workspaces_->GetWorkspace(req->workspace());
  if (!ws.ok()) return ToGrpc(ws.status());
  if (!ws->has_value()) return ToGrpc(Status::NotFound("no workspace '" + req->workspace() + "'"));
  if ((*ws)->owner() != id->name && id->role != Role::kAdmin) {
    return ToGrpc(Status::PermissionDenied("workspace '" + req->workspace() + "' belongs to " + (*ws)->owner()));
  }
  std::vector<std::string> targets(req->targets().begin(), req->targets().end());
  std::vector<std::string> flags(req->flags().begin(), req->flags().end());
  if (Status s = CheckBazelRequest(req->command(), targets, flags, runner_->kit_dir()); !s.ok()) return ToGrpc(s);
  if (Status s = ValidateWorkspacePath(req->subdir()); !s.ok()) return ToGrpc(s);
  if (Status s = runner_->available(); !s.ok()) return ToGrpc(s);
  auto open = registry_->Get(req->workspace());
  if (!open.ok()) return ToGrpc(open.status());
  BuildRequest build_req;
  if (int err = (*open)->dir->OpenDir(req->subdir(), &build_req.cwd); err != 0) {
    return ToGrpc(Status::InvalidArgument("'" + req->subdir() + "' is not a directory of workspace '" +
                                          req->workspace() + "': " + std::strerror(err)));
  }
  build_req.user = id->name;
  build_req.workspace = req->workspace();
  build_req.workspace_dir = (*open)->dir->root();
  build_req.command = req->command();
  build_req.targets = std::move(targets);
  build_req.flags = std::move(flags);
  auto build = runner_->Submit(std::move(build_req));
  if (!build.ok()) return ToGrpc(build.status());
  const std::string& build_id = (*build)->id();

  v1::BuildUpdate first;
  first.set_id(build_id);
  if (std::string web = runner_->web_url(); !web.empty()) first.set_url(web + "/builds/" + build_id);
  if (!writer->Write(first)) {
    (*build)->Cancel();
    return grpc::Status::OK;
  }
  if (req->detach()) return grpc::Status::OK;
  int64_t offset = 0;
  int last_position = -1;
  bool sent_started = false;
  v1::BuildProgress last_progress;
  for (;;) {
    if (ctx->IsCancelled()) {
      // The caller went away (Ctrl-C twice, a dropped connection): like a
      // local Bazel whose terminal closed, the build stops.
      (*build)->Cancel();
      return grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away; the build was cancelled");
    }
    bool finished = recorder_->WaitForLog(build_id, offset, std::chrono::milliseconds(250));
    v1::BuildUpdate u;
    int position = (*build)->queue_position();
    if (!(*build)->started() && position > 0 && position != last_position) {
      u.set_queue_position(position);
      last_position = position;
    }
    if ((*build)->started() && !sent_started) {
      u.set_started(true);
      sent_started = true;
    }
    // Everything logged so far, in chunks that fit a message.
    for (;;) {
      auto data = builds_->ReadBuildLog(build_id, offset, kLogChunkBytes);
      if (!data.ok()) return ToGrpc(data.status());
      if (data->empty()) break;
      offset += static_cast<int64_t>(data->size());
      u.mutable_output()->append(*data);
      if (u.output().size() >= static_cast<size_t>(kLogChunkBytes)) {
        if (!writer->Write(u)) {
          (*build)->Cancel();
          return grpc::Status::OK;
        }
        u.clear_output();
        u.clear_queue_position();
        u.clear_started();
      }
    }
    if (auto p = recorder_->Progress(build_id); p.ok() && !SameProgress(*p, last_progress)) {
      *u.mutable_progress() = *p;
      last_progress = *p;
    }
    if (finished) {
      auto b = builds_->GetBuild(build_id);
      if (!b.ok() || !b->has_value()) return ToGrpc(b.ok() ? Status::Internal("build record lost") : b.status());
      // Nothing is appended after the finish (the runner drains Bazel's
      // output first), so the read above had all of it.
      *u.mutable_progress() = ProgressOf(**b);
      u.set_finished(true);
      u.set_exit_code((*b)->exit_code());
      u.set_exit_name((*b)->exit_name());
      writer->Write(u);
      return grpc::Status::OK;
    }
    if (u.ByteSizeLong() > 0 && !writer->Write(u)) {
      (*build)->Cancel();
      return grpc::Status::OK;
    }
  }
}

grpc::Status BuildsService::CancelBuild(grpc::ServerContext* ctx, const v1::CancelBuildRequest* req,
                                        v1::CancelBuildResponse*) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto build = runner_->Find(req->id());
  // Someone else's build reads as missing, as in GetBuild.
  if (!build || (build->user() != id->name && id->role != Role::kAdmin)) {
    return ToGrpc(Status::NotFound("no running farm build '" + req->id() + "'"));
  }
  build->Cancel();
  return grpc::Status::OK;
}

}  // namespace cifs
