// The cifs.v1 API: who am I, builds and their logs, administration.
#pragma once

#include "cifs/v1/cifs.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/exec/scheduler.h"
#include "farmserver/bes/build_recorder.h"
#include "farmserver/builds/build_runner.h"
#include "farmserver/fs/workspace_registry.h"
#include "farmserver/cluster/proxy_map.h"
#include "metadata/metadata_store.h"
#include "workspace/provisioner.h"

namespace cifs {

class FarmService final : public v1::Farm::Service {
 public:
  // `scheduler`: null when the node runs no workers.
  FarmService(Authenticator* auth, Scheduler* scheduler) : auth_(auth), scheduler_(scheduler) {}
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest* req, v1::WhoAmIResponse* resp) override;
  grpc::Status GetExecution(grpc::ServerContext* ctx, const v1::GetExecutionRequest* req,
                            v1::ExecutionStatus* resp) override;

 private:
  Authenticator* auth_;
  Scheduler* scheduler_;
};

class BuildsService final : public v1::Builds::Service {
 public:
  BuildsService(BuildStore* builds, WorkspaceStore* workspaces, BuildRecorder* recorder, Authenticator* auth,
                BuildRunner* runner, WorkspaceRegistry* registry)
      : builds_(builds),
        workspaces_(workspaces), recorder_(recorder), auth_(auth), runner_(runner), registry_(registry) {}
  grpc::Status ListBuilds(grpc::ServerContext* ctx, const v1::ListBuildsRequest* req,
                          v1::ListBuildsResponse* resp) override;
  grpc::Status GetBuild(grpc::ServerContext* ctx, const v1::GetBuildRequest* req, v1::Build* resp) override;
  grpc::Status GetBuildLog(grpc::ServerContext* ctx, const v1::GetBuildLogRequest* req,
                           grpc::ServerWriter<v1::LogChunk>* writer) override;
  // Farm builds (run_build.cc).
  grpc::Status RunBuild(grpc::ServerContext* ctx, const v1::RunBuildRequest* req,
                        grpc::ServerWriter<v1::BuildUpdate>* writer) override;
  grpc::Status CancelBuild(grpc::ServerContext* ctx, const v1::CancelBuildRequest* req,
                           v1::CancelBuildResponse* resp) override;

 private:
  // The build, if the caller may see it (its owner, a lead or an admin).
  Result<v1::Build> Visible(grpc::ServerContext* ctx, const std::string& id);

  BuildStore* builds_;
  WorkspaceStore* workspaces_;
  BuildRecorder* recorder_;
  Authenticator* auth_;
  BuildRunner* runner_;
  WorkspaceRegistry* registry_;
};

class AdminService final : public v1::Admin::Service {
 public:
  // `node`: this farmserver's name in a cluster; `proxy_map` routes new
  // workspaces to it.
  AdminService(const MetadataStores& metadata, std::string node, const ProxyMap* proxy_map, Authenticator* auth,
               Provisioner* provisioner, WorkspaceRegistry* registry, BuildRunner* runner, Logger* log)
      : node_(std::move(node)),
        proxy_map_(proxy_map),
        repos_(metadata.repos),
        workspaces_(metadata.workspaces),
        revocations_(metadata.revocations), auth_(auth), provisioner_(provisioner), registry_(registry), runner_(runner), log_(log) {}
  grpc::Status RevokeUser(grpc::ServerContext* ctx, const v1::RevokeUserRequest* req,
                          v1::RevokeUserResponse* resp) override;
  grpc::Status ListRevocations(grpc::ServerContext* ctx, const v1::ListRevocationsRequest* req,
                               v1::ListRevocationsResponse* resp) override;
  // Repositories and workspaces (admin_workspaces.cc).
  grpc::Status AddRepo(grpc::ServerContext* ctx, const v1::AddRepoRequest* req, v1::Repo* resp) override;
  grpc::Status ListRepos(grpc::ServerContext* ctx, const v1::ListReposRequest* req,
                         v1::ListReposResponse* resp) override;
  grpc::Status CreateWorkspace(grpc::ServerContext* ctx, const v1::CreateWorkspaceRequest* req,
                               v1::Workspace* resp) override;
  grpc::Status ProvisionWorkspace(grpc::ServerContext* ctx, const v1::CreateWorkspaceRequest* req,
                                  grpc::ServerWriter<v1::ProvisionUpdate>* writer) override;
  grpc::Status DeleteWorkspace(grpc::ServerContext* ctx, const v1::DeleteWorkspaceRequest* req,
                               v1::DeleteWorkspaceResponse* resp) override;

 private:
  // CreateWorkspace and ProvisionWorkspace: checks, makes, records.
  grpc::Status Provision(grpc::ServerContext* ctx, const v1::CreateWorkspaceRequest* req,
                         const ProvisionProgressFn& progress, v1::Workspace* resp);

  const std::string node_;
  const ProxyMap* proxy_map_;
  RepoStore* repos_;
  WorkspaceStore* workspaces_;
  RevocationStore* revocations_;
  Authenticator* auth_;
  Provisioner* provisioner_;
  WorkspaceRegistry* registry_;
  BuildRunner* runner_;
  Logger* log_;
};

class WorkspacesService final : public v1::Workspaces::Service {
 public:
  WorkspacesService(WorkspaceStore* workspaces, Authenticator* auth) : workspaces_(workspaces), auth_(auth) {}
  grpc::Status ListWorkspaces(grpc::ServerContext* ctx, const v1::ListWorkspacesRequest* req,
                              v1::ListWorkspacesResponse* resp) override;

 private:
  WorkspaceStore* workspaces_;
  Authenticator* auth_;
};

}  // namespace cifs
