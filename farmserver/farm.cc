#include "farmserver/farm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/bazel_kit.h"
#include "farmserver/web/gateway_services.h"
#include "common/files.h"
#include "farmserver/answered_interceptor.h"
#include "farmserver/reapi/limits.h"

namespace cifs {

Farm::~Farm() { Shutdown(); }

Status Farm::Start() {
  CIFS_RETURN_IF_ERROR(MakeDirs(options_.state_dir, 0700));
  auto cert = ReadFile(options_.tls_cert);
  auto key = ReadFile(options_.tls_key);
  auto ca = ReadFile(options_.client_ca);
  if (!cert.ok() || !key.ok() || !ca.ok()) {
    return Status::FailedPrecondition("TLS files missing (" + options_.tls_cert + ", " + options_.tls_key + ", " +
                                      options_.client_ca + "): run `cifs admin ca init --farm-dir " +
                                      options_.state_dir + "` first");
  }

  RocksDbStoreOptions so;
  so.path = options_.state_dir + "/content";
  so.cache_limit_bytes = options_.cache_limit_bytes;
  so.sync_commits = options_.sync_commits;
  so.min_free_bytes = options_.min_free_bytes;
  auto store = RocksDbStore::Open(so);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  if (store_->recovered_partial_uploads() > 0) {
    log_->Warn("discarded_partial_uploads", {{"count", store_->recovered_partial_uploads()}});
  }
  auto metadata = OpenMetadata(options_.metadata.empty() ? options_.state_dir + "/metadata.db" : options_.metadata);
  if (!metadata.ok()) return metadata.status();
  // Private whatever the umask: builds may run as another user who can walk
  // through the state directory (see BuildRunner).
  for (const char* f : {"/metadata.db", "/metadata.db-wal", "/metadata.db-shm"}) {
    ::chmod((options_.state_dir + f).c_str(), 0600);
  }
  ::chmod((options_.state_dir + "/content").c_str(), 0700);
  metadata_backend_ = std::move(*metadata);
  metadata_ = metadata_backend_->stores();
  auth_ = std::make_unique<Authenticator>(metadata_.revocations, metadata_.revocation_changes, &build_scopes_);
  auth_->SetClientCa(*ca);
  CIFS_RETURN_IF_ERROR(auth_->Load());
  recorder_ = std::make_unique<BuildRecorder>(metadata_.builds, log_);
  CIFS_RETURN_IF_ERROR(recorder_->CloseInterruptedFarmBuilds(1000));

  CIFS_RETURN_IF_ERROR(ComposeCache(*ca));
  capabilities_ = std::make_unique<CapabilitiesService>(options_.workers > 0);
  cas_ = std::make_unique<CasService>(cache_->cas(), auth_.get(), &metrics_);
  ac_ = std::make_unique<ActionCacheService>(cache_->ac(), cache_->cas(), auth_.get(), &build_scopes_, &metrics_);
  bytestream_ = std::make_unique<ByteStreamService>(cache_->cas(), auth_.get(), &metrics_);
  if (!options_.cache_shards.empty()) {
    shard_ = std::make_unique<CacheShardService>(store_.get(), store_.get(), auth_.get());
  }
  bes_ = std::make_unique<BesService>(recorder_.get(), auth_.get(), &metrics_, log_);
  if (options_.workers > 0) {
    Scheduler::Options so;
    so.platforms.push_back(ParsePlatform(options_.worker_platform));
    scheduler_ = std::make_unique<Scheduler>(std::move(so));
    execution_ = std::make_unique<ExecutionService>(scheduler_.get(), ac_.get(), cache_->cas(), auth_.get());
    workers_api_ = std::make_unique<WorkerService>(scheduler_.get(), cache_->ac(), auth_.get(), log_);
  }
  farm_api_ = std::make_unique<FarmService>(auth_.get(), scheduler_.get());
  if (!options_.git_credentials.empty()) {
    auto creds = GitCredentials::Load(options_.git_credentials);
    if (!creds.ok()) return creds.status();
    git_credentials_ = std::move(*creds);
  }
  provisioner_ = std::make_unique<Provisioner>(options_.state_dir, &git_credentials_);
  CIFS_RETURN_IF_ERROR(provisioner_->Init());
  if (!options_.git_ca.empty()) CIFS_RETURN_IF_ERROR(UseGitCaBundle(options_.git_ca));
  registry_ = std::make_unique<WorkspaceRegistry>(metadata_.workspaces, provisioner_.get(), options_.node);
  CIFS_RETURN_IF_ERROR(MakeBuildRunner());
  builds_api_ = std::make_unique<BuildsService>(metadata_.builds, metadata_.workspaces, recorder_.get(), auth_.get(),
                                                runner_.get(), registry_.get());
  admin_api_ =
      std::make_unique<AdminService>(metadata_, options_.node, &proxy_map_, auth_.get(), provisioner_.get(), registry_.get(),
                                     runner_.get(), log_);
  workspaces_api_ = std::make_unique<WorkspacesService>(metadata_.workspaces, auth_.get());
  hasher_ = std::make_unique<FileHasher>([this](const Digest& d, std::string path, const struct stat& st) {
    workspace_files_.Remember(d, std::move(path), st);
  });
  RestoreHashes();
  fs_api_ = std::make_unique<WorkspaceFsService>(registry_.get(), store_.get(), auth_.get(), hasher_.get());
  git_host_ = std::make_unique<GitRemoteHost>(&git_credentials_);
  prs_api_ = std::make_unique<PullRequestService>(metadata_, options_.node, auth_.get(), provisioner_.get(), git_host_.get(),
                                                  runner_.get(), cache_->ac(), options_.state_dir, log_,
                                                  static_cast<size_t>(options_.merge_batch));

  // The HTTPS port is bound first: sign-in links and build links name it.
  WebSessionOptions wo;
  wo.session_ttl_ms = int64_t{options_.web_session_hours} * 3600 * 1000;
  sessions_ = std::make_unique<WebSessions>(metadata_.sessions, auth_.get(), wo);
  HttpsServerOptions https;
  https.listen = options_.listen;
  https.port = options_.http_port;
  https.cert_file = options_.tls_cert;
  https.key_file = options_.tls_key;
  https.client_ca_file = options_.client_ca;
  http_ = std::make_unique<HttpServer>(std::move(https), auth_.get(), sessions_.get(), metadata_.changes, store_.get(), &metrics_, log_);
  CIFS_RETURN_IF_ERROR(http_->Bind());
  web_api_ = std::make_unique<WebService>(auth_.get(), sessions_.get(), WebUrl());

  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = *ca;
  tls.pem_key_cert_pairs.push_back({*key, *cert});
  auto creds = grpc::SslServerCredentials(tls);
  creds->SetAuthMetadataProcessor(std::make_shared<CertificateAuthProcessor>(auth_.get()));

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(options_.listen + ":" + std::to_string(options_.grpc_port), creds, &bound_port);
  // Requests larger than this are refused by gRPC with RESOURCE_EXHAUSTED.
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxMessageBytes));
  builder.SetMaxSendMessageSize(static_cast<int>(kMaxMessageBytes));
  // gRPC grows a stream's receive window with the bandwidth it measures (BDP
  // probing); on loopback that let one fast uploader park 100+ MiB in the
  // farm's memory while the disk was busy. A fixed window bounds it.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // gRPC shares a port with any process of the same user that asks
  // (SO_REUSEPORT): a second farm on this port would silently take half the
  // connections, with another CA. Binding a taken port must fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<AnsweredInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (grpc::Service* s : std::initializer_list<grpc::Service*>{
           capabilities_.get(), cas_.get(), ac_.get(), bytestream_.get(), bes_.get(), farm_api_.get(),
           builds_api_.get(), admin_api_.get(), workspaces_api_.get(), fs_api_.get(), prs_api_.get(),
           web_api_.get()}) {
    builder.RegisterService(s);
  }
  if (shard_) builder.RegisterService(shard_.get());
  if (execution_) {
    builder.RegisterService(execution_.get());
    builder.RegisterService(workers_api_.get());
  }
  grpc_ = builder.BuildAndStart();
  if (!grpc_ || bound_port == 0) {
    return Status::Unavailable("cannot listen on " + options_.listen + ":" + std::to_string(options_.grpc_port));
  }

  // REST reaches the same services in process. WorkspaceFs (fsd's file
  // protocol) and the Bazel protocols stay gRPC-only.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(kMaxMessageBytes));
  gateway_ = std::make_unique<RpcGateway>(grpc_->InProcessChannel(args), auth_.get(), GatewayServices());
  CIFS_RETURN_IF_ERROR(http_->Serve(gateway_.get()));

  StartBuildRunner(bound_port);
  CIFS_RETURN_IF_ERROR(StartWorkers(bound_port));
  if (!options_.node.empty()) {
    liveness_ = std::make_unique<NodeLiveness>(
        options_.node, metadata_.cluster, [this](const std::vector<int64_t>& n) { prs_api_->TakeOver(n); }, log_);
    CIFS_RETURN_IF_ERROR(liveness_->Start());
  }
  if (Status s = prs_api_->ResumeValidations(); !s.ok()) log_->Warn("validations_not_resumed", {{"error", s.message()}});

  log_->Info("farm_started", {{"grpc", options_.listen + ":" + std::to_string(bound_port)},
                              {"http", options_.listen + ":" + std::to_string(http_->port())},
                              {"state_dir", options_.state_dir},
                              {"cache_limit_bytes", options_.cache_limit_bytes},
                              {"blobs", store_->Stats().blobs},
                              {"cache", cache_->Describe()}});
  if (!options_.ready_file.empty()) {
    nlohmann::json ready = {{"grpc_port", bound_port}, {"http_port", http_->port()}, {"pid", ::getpid()}};
    CIFS_RETURN_IF_ERROR(WriteFileAtomic(options_.ready_file, ready.dump() + "\n"));
  }
  return Status::Ok();
}

Status Farm::ComposeCache(const std::string& ca_pem) {
  CacheTopology t;
  t.self = options_.node;
  t.local_copies = options_.cache_local_copies;
  t.workspace_files = &workspace_files_;
  for (const auto& flag : options_.cache_shards) {
    auto shard = ParseCacheShard(flag);
    if (!shard.ok()) return shard.status();
    t.shards.push_back(*shard);
  }
  if (!t.shards.empty()) {
    auto cert = ReadFile(options_.peer_cert);
    auto key = ReadFile(options_.peer_key);
    if (!cert.ok() || !key.ok()) {
      return Status::FailedPrecondition("a sharded cache needs this node's peer certificate (" + options_.peer_cert +
                                        ", " + options_.peer_key + "): `cifs admin user add " + options_.node +
                                        " --role node --out DIR` issues one");
    }
    t.peer = {ca_pem, *cert, *key};
  }
  auto layers = CacheLayers::Compose(t, store_.get(), store_.get());
  if (!layers.ok()) return layers.status();
  cache_ = std::move(*layers);
  return Status::Ok();
}

Status Farm::MakeBuildRunner() {
  BuildRunnerOptions o;
  o.state_dir = options_.state_dir;
  o.bazel = options_.bazel;
  auto uids = ParseUidRange(options_.build_uids);
  if (!uids.ok()) return uids.status();
  o.build_uids = *uids;
  o.max_builds = options_.max_builds;
  o.max_warm_servers = options_.max_warm_servers;
  o.bazel_idle_secs = options_.bazel_idle_secs;
  o.remote_exec = options_.workers > 0;
  auto kit = FindBazelKit(options_.bazel_kit);
  if (kit.ok()) {
    o.kit_dir = *kit;
  } else if (!options_.bazel_kit.empty()) {
    return kit.status();
  }
  runner_ = std::make_unique<BuildRunner>(std::move(o), recorder_.get(), &build_scopes_, log_);
  return Status::Ok();
}

namespace {
// Bazel and browsers on this node reach the farm on loopback unless it
// listens on one address only.
std::string LocalHost(const std::string& l) {
  return (l == "0.0.0.0" || l == "::" || l == "127.0.0.1" || l == "localhost") ? "localhost" : l;
}
}  // namespace

std::string Farm::WebUrl() const {
  if (!options_.web_url.empty()) return options_.web_url;
  return "https://" + LocalHost(options_.listen) + ":" + std::to_string(http_->port());
}

void Farm::StartBuildRunner(int grpc_port) {
  Status s = runner_->Init(LocalHost(options_.listen) + ":" + std::to_string(grpc_port), WebUrl());
  if (!s.ok()) log_->Warn("farm_builds_off", {{"reason", s.message()}});
}

Status Farm::StartWorkers(int grpc_port) {
  if (options_.workers == 0) return Status::Ok();
  WorkerPoolOptions o;
  o.count = options_.workers;
  o.dir = options_.state_dir + "/workers";
  o.farm = LocalHost(options_.listen) + ":" + std::to_string(grpc_port);
  o.node = options_.node;
  for (const auto& flag : options_.cache_shards) {
    auto shard = ParseCacheShard(flag);
    if (shard.ok() && shard->first != options_.node) o.peers.push_back(shard->second);
  }
  o.platform = ParsePlatform(options_.worker_platform);
  o.cache_size = options_.worker_cache_size;
  // Beside farmserver, as cmake builds and installs them.
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  o.exe = (self.parent_path() / "cifs-worker").string();
  if (!std::filesystem::exists(o.exe)) o.exe = (self.parent_path().parent_path() / "worker" / "cifs-worker").string();
  if (!std::filesystem::exists(o.exe)) {
    return Status::FailedPrecondition("--workers needs the cifs-worker program beside farmserver (" +
                                      self.parent_path().string() + ")");
  }
  if (::geteuid() == 0) {
    auto who = runner_->UidFor("@workers");
    if (!who.ok()) return Status::FailedPrecondition("no uid for the workers: " + who.status().message());
    o.run_as = *who;
  }
  auto key = ReadFile(options_.state_dir + "/ca/ca.key");
  auto cert = ReadFile(options_.client_ca);
  if (!key.ok() || !cert.ok()) return Status::FailedPrecondition("--workers needs the farm CA's key in STATE/ca");
  auto ca = CertificateAuthority::Load(*key, *cert);
  if (!ca.ok()) return ca.status();
  auto pool = WorkerPool::Start(std::move(o), *ca, log_);
  if (!pool.ok()) return pool.status();
  workers_ = std::move(*pool);
  return Status::Ok();
}

void Farm::Shutdown() {
  if (scheduler_) scheduler_->Shutdown();
  workers_.reset();
  if (http_) http_->Stop();
  if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  KeepHashes();  // no listing hashes anything now
  liveness_.reset();  // it hands PRs to prs_api_
  if (prs_api_) prs_api_->Stop();
  if (runner_) runner_->Shutdown();
}

std::string Farm::HashesPath() const { return options_.state_dir + "/file-hashes"; }

void Farm::RestoreHashes() {
  auto kept = ReadFile(HashesPath());
  if (!kept.ok()) return;  // none yet: the first start, or a farm killed before it kept them
  // Taken once: a farm killed later must not trust what the files did since.
  ::unlink(HashesPath().c_str());
  size_t n = hasher_->Restore(*kept);
  log_->Info("file_hashes_restored", {{"entries", static_cast<int64_t>(n)}});
}

void Farm::KeepHashes() {
  if (!hasher_ || hashes_kept_) return;
  hashes_kept_ = true;
  std::string snapshot = hasher_->Snapshot();
  Status s = WriteFileAtomic(HashesPath(), snapshot, 0600);
  if (!s.ok()) log_->Warn("file_hashes_not_kept", {{"error", s.message()}});
}

void Farm::Wait() {
  if (grpc_) grpc_->Wait();
}

}  // namespace cifs
