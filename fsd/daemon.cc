#include "fsd/daemon.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cifs {
namespace {

grpc::Status ToGrpc(const cifs::Status& s) {
  return s.ok() ? grpc::Status::OK : grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace

cifs::Status CheckMountpoint(const std::string& path) {
  struct stat st;
  if (path.empty() || path[0] != '/') return Status::InvalidArgument("mountpoint '" + path + "' is not absolute");
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("mountpoint " + path + " does not exist");
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("mountpoint " + path + " is not a directory");
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
  if (!d) return Status::IoError("cannot read mountpoint " + path, errno);
  while (struct dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") return Status::FailedPrecondition("mountpoint " + path + " is not empty");
  }
  return Status::Ok();
}

cifs::Status FsdDaemon::MountWorkspace(const std::string& workspace, const std::string& mountpoint) {
  std::lock_guard lock(mu_);
  if (mounts_.count(mountpoint)) return Status::AlreadyExists(mountpoint + " is already a cifs mount");
  CIFS_RETURN_IF_ERROR(CheckMountpoint(mountpoint));
  MountOptions o;
  o.workspace = workspace;
  o.mountpoint = mountpoint;
  o.timeout = timeout_;
  auto m = cifs::Mount::Start(o, farm_, store_, log_);
  if (!m.ok()) return m.status();
  mounts_[mountpoint] = std::move(*m);
  idle_exit_ = false;
  return Status::Ok();
}

void FsdDaemon::UnmountAll() {
  std::lock_guard lock(mu_);
  mounts_.clear();
}

grpc::Status FsdDaemon::Mount(grpc::ServerContext*, const v1::MountRequest* req, v1::MountResponse*) {
  return ToGrpc(MountWorkspace(req->workspace(), req->mountpoint()));
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
    resp->set_daemon_exiting(mounts_.empty());
  }
  gone.reset();  // unmounts, outside the lock
  if (resp->daemon_exiting()) idle_exit_ = true;
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

}  // namespace cifs
