// Admin: repositories and workspaces; Workspaces: listing them.
#include <chrono>

#include "common/clock.h"
#include "farmserver/api/api_services.h"

#include "farmclient/routing.h"
#include "farmserver/fs/placement.h"

namespace cifs {

namespace {

v1::ProvisionUpdate::Phase ToProto(ProvisionProgress::Phase phase) {
  switch (phase) {
    case ProvisionProgress::Phase::kUpdatingMirror: return v1::ProvisionUpdate::UPDATING_MIRROR;
    case ProvisionProgress::Phase::kSharingObjects: return v1::ProvisionUpdate::SHARING_OBJECTS;
    case ProvisionProgress::Phase::kCheckingOut: return v1::ProvisionUpdate::CHECKING_OUT;
  }
  return v1::ProvisionUpdate::PHASE_UNSPECIFIED;
}

}  // namespace

grpc::Status AdminService::AddRepo(grpc::ServerContext* ctx, const v1::AddRepoRequest* req, v1::Repo* resp) {
  auto id = auth_->Require(ctx, Role::kAdmin);
  if (!id.ok()) return ToGrpc(id.status());
  Status valid = ValidateName("repository", req->name());
  if (!valid.ok()) return ToGrpc(valid);
  auto existing = repos_->GetRepo(req->name());
  if (!existing.ok()) return ToGrpc(existing.status());
  if (existing->has_value()) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "a repository named '" + req->name() + "' exists");
  }
  auto mirror = provisioner_->Mirror(req->name(), req->url());
  if (!mirror.ok()) return ToGrpc(mirror.status());
  resp->set_name(req->name());
  resp->set_url(req->url());
  resp->set_default_branch(mirror->default_branch);
  resp->set_created_ms(NowMs());
  resp->set_created_by(id->name);
  Status s = repos_->InsertRepo(*resp);
  if (!s.ok()) return ToGrpc(s);
  log_->Info("repo_added", {{"repo", req->name()}, {"url", req->url()}, {"by", id->name}});
  return grpc::Status::OK;
}

grpc::Status AdminService::ListRepos(grpc::ServerContext* ctx, const v1::ListReposRequest*,
                                     v1::ListReposResponse* resp) {
  auto id = auth_->Require(ctx, Role::kAdmin);
  if (!id.ok()) return ToGrpc(id.status());
  auto repos = repos_->ListRepos();
  if (!repos.ok()) return ToGrpc(repos.status());
  for (auto& r : *repos) *resp->add_repos() = std::move(r);
  return grpc::Status::OK;
}

grpc::Status AdminService::CreateWorkspace(grpc::ServerContext* ctx, const v1::CreateWorkspaceRequest* req,
                                           v1::Workspace* resp) {
  return Provision(ctx, req, {}, resp);
}

grpc::Status AdminService::ProvisionWorkspace(grpc::ServerContext* ctx, const v1::CreateWorkspaceRequest* req,
                                              grpc::ServerWriter<v1::ProvisionUpdate>* writer) {
  // Git's meter ticks about once a second; phases are few. Each is sent as
  // it comes, from the provisioning thread, with no lock held.
  auto on_progress = [&](const ProvisionProgress& p) {
    v1::ProvisionUpdate u;
    u.set_phase(ToProto(p.phase));
    u.set_files_done(p.files_done);
    u.set_files_total(p.files_total);
    writer->Write(u);  // a caller gone away still gets its workspace made
  };
  v1::ProvisionUpdate last;
  grpc::Status s = Provision(ctx, req, on_progress, last.mutable_workspace());
  if (!s.ok()) return s;
  last.set_phase(v1::ProvisionUpdate::CREATED);
  writer->Write(last);
  return grpc::Status::OK;
}

grpc::Status AdminService::Provision(grpc::ServerContext* ctx, const v1::CreateWorkspaceRequest* req,
                                     const ProvisionProgressFn& progress, v1::Workspace* resp) {
  auto id = auth_->Require(ctx, Role::kAdmin);
  if (!id.ok()) return ToGrpc(id.status());
  for (Status s : {ValidateName("workspace", req->name()), ValidateUserName(req->owner())}) {
    if (!s.ok()) return ToGrpc(s);
  }
  auto repo = repos_->GetRepo(req->repo());
  if (!repo.ok()) return ToGrpc(repo.status());
  if (!repo->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no repository '" + req->repo() + "' (add it with `cifs admin repo add`)");
  }
  auto existing = workspaces_->GetWorkspace(req->name());
  if (!existing.ok()) return ToGrpc(existing.status());
  if (existing->has_value()) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "a workspace named '" + req->name() + "' exists");
  }
  if (!node_.empty()) {
    // An admin who placed it on a node the proxy could not reach gets here.
    const auto& md = ctx->client_metadata();
    auto asked = md.find(kNodeHeader);
    if (asked != md.end() && std::string(asked->second.data(), asked->second.size()) != node_) {
      return ToGrpc(Status::Unavailable("node " + std::string(asked->second.data(), asked->second.size()) +
                                        " was asked for, but this is " + node_ + ": is that node up?"));
    }
  }
  std::string branch = req->branch().empty() ? (*repo)->default_branch() : req->branch();
  if (Status s = provisioner_->EnsureMirror(req->repo(), (*repo)->url()); !s.ok()) return ToGrpc(s);
  auto head = provisioner_->CreateWorkspace(req->repo(), (*repo)->url(), req->name(), branch, progress);
  if (!head.ok()) return ToGrpc(head.status());
  resp->set_name(req->name());
  resp->set_owner(req->owner());
  resp->set_repo(req->repo());
  resp->set_branch(branch);
  resp->set_created_ms(NowMs());
  resp->set_head_commit(*head);
  resp->set_node(node_);
  Status s = workspaces_->InsertWorkspace(*resp);
  if (!s.ok()) {
    if (Status undone = provisioner_->DeleteWorkspace(req->name()); !undone.ok()) {
      log_->Warn("workspace_not_removed", {{"workspace", req->name()}, {"error", undone.message()}});
    }
    return ToGrpc(s);
  }
  if (Status routed = proxy_map_->Set(req->name(), node_); !routed.ok()) {
    // The workspace exists; until the proxy learns of it (its next start
    // reads the map from the database), its calls may reach other nodes,
    // which answer that it lives here.
    log_->Warn("workspace_not_routed", {{"workspace", req->name()}, {"error", routed.message()}});
  }
  log_->Info("workspace_created",
             {{"workspace", req->name()}, {"owner", req->owner()}, {"repo", req->repo()}, {"branch", branch},
              {"by", id->name}});
  return grpc::Status::OK;
}

grpc::Status AdminService::DeleteWorkspace(grpc::ServerContext* ctx, const v1::DeleteWorkspaceRequest* req,
                                           v1::DeleteWorkspaceResponse*) {
  auto id = auth_->Require(ctx, Role::kAdmin);
  if (!id.ok()) return ToGrpc(id.status());
  Status valid = ValidateName("workspace", req->name());
  if (!valid.ok()) return ToGrpc(valid);
  auto record = workspaces_->GetWorkspace(req->name());
  if (!record.ok()) return ToGrpc(record.status());
  if (!record->has_value()) return ToGrpc(Status::NotFound("no workspace '" + req->name() + "'"));
  if (Status here = CheckOnThisNode(**record, node_); !here.ok()) return ToGrpc(here);
  Status s = workspaces_->DeleteWorkspace(req->name());
  if (!s.ok()) return ToGrpc(s);
  registry_->Forget(req->name());
  runner_->ForgetWorkspace(req->name());
  if (Status unrouted = proxy_map_->Remove(req->name()); !unrouted.ok()) {
    log_->Warn("workspace_not_unrouted", {{"workspace", req->name()}, {"error", unrouted.message()}});
  }
  s = provisioner_->DeleteWorkspace(req->name());
  if (!s.ok()) return ToGrpc(s);
  log_->Info("workspace_deleted", {{"workspace", req->name()}, {"by", id->name}});
  return grpc::Status::OK;
}

grpc::Status WorkspacesService::ListWorkspaces(grpc::ServerContext* ctx, const v1::ListWorkspacesRequest* req,
                                               v1::ListWorkspacesResponse* resp) {
  auto id = req->all_users() ? auth_->Require(ctx, Role::kLead) : auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  // Admins manage every workspace, so they see every one.
  bool all = req->all_users() || id->role == Role::kAdmin;
  auto list = workspaces_->ListWorkspaces(all ? std::string() : id->name);
  if (!list.ok()) return ToGrpc(list.status());
  for (auto& w : *list) *resp->add_workspaces() = std::move(w);
  return grpc::Status::OK;
}

}  // namespace cifs
