#include "fsd/daemon.h"

#include <unistd.h>

#include "common/grpc_status.h"
#include "common/mounts.h"

namespace cifs {

cifs::Status FsdDaemon::MountWorkspace(const std::string& workspace, const std::string& mountpoint,
                                       std::chrono::milliseconds timeout, bool guess_prefetch) {
  std::lock_guard lock(mu_);
  if (closing_) return Status::Unavailable("fsd is shutting down");
  if (mounts_.count(mountpoint)) return Status::AlreadyExists(mountpoint + " is already a cifs mount");
  CIFS_RETURN_IF_ERROR(CheckMountpoint(mountpoint));
  MountOptions o;
  o.workspace = workspace;
  o.mountpoint = mountpoint;
  o.timeout = timeout.count() > 0 ? timeout : timeout_;
  o.guess_prefetch = guess_prefetch;
  o.guess_limit_bytes = store_->Stats().cache_limit_bytes / 4;
  auto m = cifs::Mount::Start(o, farm_, store_, log_);
  if (!m.ok()) return m.status();
  mounts_[mountpoint] = std::move(*m);
  // A mount that came in right after the last unmount keeps the daemon: an
  // exit decided on the stale flag would take this mount down with it.
  last_unmounted_ = false;
  SaveRecordsLocked();
  return Status::Ok();
}

void FsdDaemon::UnmountAll() {
  std::lock_guard lock(mu_);
  mounts_.clear();
  SaveRecordsLocked();
}

void FsdDaemon::SaveRecordsLocked() {
  std::vector<MountRecord> records;
  for (auto& [path, m] : mounts_) records.push_back({m->options().workspace, path});
  if (records.empty()) empty_since_ = std::chrono::steady_clock::now();
  cifs::Status s = SaveMountRecords(dir_, records);
  if (!s.ok()) log_->Warn("cannot_save_mounts", {{"error", s.message()}});
}

bool FsdDaemon::ShouldExit() {
  std::lock_guard lock(mu_);
  // Idle: no mount for a while (a mount that failed, say). Nothing else
  // keeps a daemon alive; the next `cifs mount` starts a fresh one.
  closing_ = mounts_.empty() && (last_unmounted_ || std::chrono::steady_clock::now() - empty_since_ > kIdleExit);
  return closing_;  // from here on, mounts are refused: the CLI starts a new fsd
}

grpc::Status FsdDaemon::Mount(grpc::ServerContext*, const v1::MountRequest* req, v1::MountResponse*) {
  return ToGrpc(MountWorkspace(req->workspace(), req->mountpoint(), std::chrono::milliseconds(req->timeout_ms()),
                               !req->no_guessed_prefetch()));
}

grpc::Status FsdDaemon::Unmount(grpc::ServerContext*, const v1::UnmountRequest* req, v1::UnmountResponse* resp) {
  std::unique_ptr<cifs::Mount> gone;
  {
    std::lock_guard lock(mu_);
    auto it = mounts_.find(req->mountpoint());
    if (it == mounts_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, req->mountpoint() + " is not mounted by this fsd");
    }
    gone = std::move(it->second);
    mounts_.erase(it);
    SaveRecordsLocked();
    resp->set_daemon_exiting(mounts_.empty());
  }
  gone.reset();  // unmounts, outside the lock
  if (resp->daemon_exiting()) {
    std::lock_guard lock(mu_);
    last_unmounted_ = mounts_.empty();
  }
  return grpc::Status::OK;
}

grpc::Status FsdDaemon::Status(grpc::ServerContext*, const v1::FsdStatusRequest*, v1::FsdStatusResponse* resp) {
  resp->set_pid(::getpid());
  resp->set_farm(farm_address_);
  auto stats = store_->Stats();
  resp->set_store_bytes(stats.cache_bytes + stats.pinned_bytes);
  resp->set_store_limit_bytes(stats.cache_limit_bytes);
  std::lock_guard lock(mu_);
  for (auto& [path, m] : mounts_) *resp->add_mounts() = m->Report();
  return grpc::Status::OK;
}

grpc::Status FsdDaemon::Prefetch(grpc::ServerContext* ctx, const v1::PrefetchRequest* req,
                                 grpc::ServerWriter<v1::PrefetchProgress>* writer) {
  std::shared_ptr<PrefetchJob> job;
  {
    std::lock_guard lock(mu_);
    auto it = mounts_.find(req->mountpoint());
    if (it == mounts_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, req->mountpoint() + " is not mounted by this fsd");
    }
    // A path with "." or ".." resolves to nothing in the table, and the farm
    // refuses one: neither leaves the workspace.
    auto started = it->second->StartPrefetch({.path = req->path(), .globs = {req->globs().begin(), req->globs().end()}},
                                             req->background());
    if (!started.ok()) return ToGrpc(started.status());
    job = std::move(*started);
  }
  // Progress a few times a second until it ends; a caller that goes away
  // takes a foreground job with it.
  for (;;) {
    bool ended = job->WaitFor(std::chrono::milliseconds(250));
    if (!writer->Write(job->Snapshot()) || ctx->IsCancelled()) {
      if (!req->background()) job->Cancel();
      return grpc::Status::OK;
    }
    if (ended) return grpc::Status::OK;
  }
}

}  // namespace cifs
