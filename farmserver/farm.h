// A farm node: owns the stores and the servers, starts and stops them as one.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "common/log.h"
#include "farmserver/api/api_services.h"
#include "farmserver/auth.h"
#include "farmserver/bes/bes_service.h"
#include "farmserver/fs/fs_service.h"
#include "farmserver/http/http_server.h"
#include "farmserver/metrics.h"
#include "farmserver/prs/pull_request_service.h"
#include "farmserver/web/rpc_gateway.h"
#include "farmserver/web/sessions.h"
#include "farmserver/web/web_service.h"
#include "githost/git_remote_host.h"
#include "farmserver/options.h"
#include "farmserver/reapi/action_cache_service.h"
#include "farmserver/reapi/bytestream_service.h"
#include "farmserver/reapi/cas_service.h"
#include "farmserver/reapi/shard_service.h"
#include "farmserver/cache/cache_layers.h"
#include "farmserver/cluster/node_liveness.h"
#include "farmserver/cluster/proxy_map.h"
#include "farmserver/exec/execution_service.h"
#include "farmserver/exec/scheduler.h"
#include "farmserver/exec/worker_pool.h"
#include "farmserver/exec/worker_service.h"
#include "metadata/open_metadata.h"
#include "store/rocksdb_store.h"

namespace cifs {

class Farm {
 public:
  Farm(FarmOptions options, Logger* log) : options_(std::move(options)), log_(log) {}
  ~Farm();

  Status Start();
  // Stops accepting calls, lets running ones finish for a moment, then closes.
  void Shutdown();
  void Wait();

 private:
  // Farm builds: made before serving, started once the bound gRPC port is
  // known (Bazel is pointed back at it).
  Status MakeBuildRunner();
  Status ComposeCache(const std::string& ca_pem);
  void StartBuildRunner(int grpc_port);
  // This node's remote-execution workers (--workers), once the port is known.
  Status StartWorkers(int grpc_port);
  std::string WebUrl() const;
  std::string HashesPath() const;
  void RestoreHashes();
  void KeepHashes();

  FarmOptions options_;
  Logger* log_;
  Metrics metrics_;
  BuildScopes build_scopes_;  // running builds' credentials; outlives every service that reads it
  std::unique_ptr<RocksDbStore> store_;
  WorkspaceFileIndex workspace_files_;  // workspace files the CAS serves in place
  std::unique_ptr<CacheLayers> cache_;  // what the REAPI services use
  std::unique_ptr<MetadataBackend> metadata_backend_;
  MetadataStores metadata_;
  ProxyMap proxy_map_{options_.proxy_socket, options_.proxy_map};
  std::unique_ptr<NodeLiveness> liveness_;  // a cluster node's heartbeat
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<BuildRecorder> recorder_;
  std::unique_ptr<BuildRunner> runner_;
  std::unique_ptr<CapabilitiesService> capabilities_;
  std::unique_ptr<CasService> cas_;
  std::unique_ptr<ActionCacheService> ac_;
  std::unique_ptr<CacheShardService> shard_;  // a cluster node's share, for the others
  std::unique_ptr<ByteStreamService> bytestream_;
  std::unique_ptr<BesService> bes_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ExecutionService> execution_;
  std::unique_ptr<WorkerService> workers_api_;
  std::unique_ptr<FarmService> farm_api_;
  std::unique_ptr<BuildsService> builds_api_;
  std::unique_ptr<AdminService> admin_api_;
  std::unique_ptr<WorkspacesService> workspaces_api_;
  GitCredentials git_credentials_;
  std::unique_ptr<Provisioner> provisioner_;
  std::unique_ptr<WorkspaceRegistry> registry_;
  std::unique_ptr<FileHasher> hasher_;  // workspace files' hashes, kept over a restart
  bool hashes_kept_ = false;
  std::unique_ptr<WorkspaceFsService> fs_api_;
  std::unique_ptr<GitRemoteHost> git_host_;
  std::unique_ptr<PullRequestService> prs_api_;
  std::unique_ptr<WebSessions> sessions_;
  std::unique_ptr<WebService> web_api_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<RpcGateway> gateway_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<WorkerPool> workers_;
};

}  // namespace cifs
