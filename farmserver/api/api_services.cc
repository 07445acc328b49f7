#include "farmserver/api/api_services.h"

#include "farmserver/api/response_limits.h"

namespace cifs {

namespace {
constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 10000;
}  // namespace

grpc::Status FarmService::WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest*, v1::WhoAmIResponse* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  resp->set_user(id->name);
  resp->set_role(RoleName(id->role));
  resp->set_farm_version(CIFS_VERSION);
  return grpc::Status::OK;
}

grpc::Status FarmService::GetExecution(grpc::ServerContext* ctx, const v1::GetExecutionRequest*,
                                       v1::ExecutionStatus* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  if (!scheduler_) return grpc::Status::OK;
  SchedulerStats s = scheduler_->Stats();
  resp->set_enabled(true);
  resp->set_queued(static_cast<int64_t>(s.queued));
  resp->set_executing(static_cast<int64_t>(s.executing));
  resp->set_completed(static_cast<int64_t>(s.completed));
  resp->set_retried(static_cast<int64_t>(s.retried));
  resp->set_deduplicated(static_cast<int64_t>(s.deduplicated));
  for (const auto& w : s.workers) {
    auto* out = resp->add_workers();
    out->set_name(w.name);
    out->set_platform(DescribePlatform(w.platform));
    out->set_running(w.running);
  }
  return grpc::Status::OK;
}

grpc::Status BuildsService::ListBuilds(grpc::ServerContext* ctx, const v1::ListBuildsRequest* req,
                                       v1::ListBuildsResponse* resp) {
  auto id = req->all_users() ? auth_->Require(ctx, Role::kLead) : auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  int limit = req->limit() > 0 ? std::min(req->limit(), kMaxListLimit) : kDefaultListLimit;
  auto builds = builds_->ListBuilds(req->all_users() ? std::string() : id->name, limit);
  if (!builds.ok()) return ToGrpc(builds.status());
  size_t bytes = 0;
  for (auto& b : *builds) {
    bytes += b.ByteSizeLong() + 8;
    if (bytes > kMaxResponseBytes) {
      resp->set_truncated(true);
      break;
    }
    *resp->add_builds() = std::move(b);
  }
  return grpc::Status::OK;
}

Result<v1::Build> BuildsService::Visible(grpc::ServerContext* ctx, const std::string& build_id) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return id.status();
  auto b = builds_->GetBuild(build_id);
  if (!b.ok()) return b.status();
  // Someone else's build reads as missing to a dev: ids are not secrets, but
  // there is no reason to confirm they exist.
  if (!b->has_value() || ((*b)->user() != id->name && !RoleAtLeast(id->role, Role::kLead))) {
    return Status::NotFound("no build '" + build_id + "'");
  }
  return **b;
}

grpc::Status BuildsService::GetBuild(grpc::ServerContext* ctx, const v1::GetBuildRequest* req, v1::Build* resp) {
  auto b = Visible(ctx, req->id());
  if (!b.ok()) return ToGrpc(b.status());
  *resp = std::move(*b);
  TrimTargetsToFit(resp, kMaxResponseBytes);
  return grpc::Status::OK;
}

grpc::Status BuildsService::GetBuildLog(grpc::ServerContext* ctx, const v1::GetBuildLogRequest* req,
                                        grpc::ServerWriter<v1::LogChunk>* writer) {
  auto b = Visible(ctx, req->id());
  if (!b.ok()) return ToGrpc(b.status());
  if (req->offset() < 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative offset");
  int64_t offset = req->offset();
  while (!ctx->IsCancelled()) {
    auto data = builds_->ReadBuildLog(req->id(), offset, kLogChunkBytes);
    if (!data.ok()) return ToGrpc(data.status());
    if (!data->empty()) {
      v1::LogChunk chunk;
      chunk.set_offset(offset);
      offset += static_cast<int64_t>(data->size());
      chunk.set_data(std::move(*data));
      if (!writer->Write(chunk)) return grpc::Status::OK;
      continue;
    }
    if (!req->follow()) break;
    bool finished = recorder_->WaitForLog(req->id(), offset, std::chrono::seconds(1));
    if (finished) {
      // Drain what arrived between the read and the finish.
      auto rest = builds_->ReadBuildLog(req->id(), offset, INT64_MAX / 2);
      if (rest.ok() && !rest->empty()) {
        v1::LogChunk chunk;
        chunk.set_offset(offset);
        chunk.set_data(std::move(*rest));
        writer->Write(chunk);
      }
      break;
    }
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::RevokeUser(grpc::ServerContext* ctx, const v1::RevokeUserRequest* req,
                                      v1::RevokeUserResponse* resp) {
  auto id = auth_->Require(ctx, Role::kAdmin);
  if (!id.ok()) return ToGrpc(id.status());
  if (req->name() == id->name) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "an admin cannot revoke their own certificate");
  }
  int64_t before = 0;
  Status s = auth_->Revoke(req->name(), id->name, &before);
  if (!s.ok()) return ToGrpc(s);
  log_->Info("user_revoked", {{"user", req->name()}, {"by", id->name}, {"revoked_before_ms", before}});
  resp->set_revoked_before_ms(before);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListRevocations(grpc::ServerContext* ctx, const v1::ListRevocationsRequest*,
                                           v1::ListRevocationsResponse* resp) {
  auto id = auth_->Require(ctx, Role::kAdmin);
  if (!id.ok()) return ToGrpc(id.status());
  auto list = revocations_->ListRevocations();
  if (!list.ok()) return ToGrpc(list.status());
  for (const auto& r : *list) {
    auto* out = resp->add_revocations();
    out->set_name(r.name);
    out->set_revoked_before_ms(r.revoked_before_ms);
    out->set_by(r.by);
  }
  return grpc::Status::OK;
}

}  // namespace cifs
