// fsd's daemon: one per user (per fsd directory), holding the local content
// store that all of the user's mounts share, and answering the control API
// on a Unix socket in that directory.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cifs/v1/fs.grpc.pb.h"
#include "common/log.h"
#include "fsd/mount.h"
#include "store/content_store.h"

namespace cifs {

class FsdDaemon final : public v1::FsdControl::Service {
 public:
  FsdDaemon(std::string dir, std::shared_ptr<grpc::Channel> farm, std::string farm_address, ContentStore* store,
            std::chrono::milliseconds timeout, Logger* log)
      : dir_(std::move(dir)),
        farm_(std::move(farm)),
        farm_address_(std::move(farm_address)),
        store_(store),
        timeout_(timeout),
        log_(log) {}

  grpc::Status Mount(grpc::ServerContext* ctx, const v1::MountRequest* req, v1::MountResponse* resp) override;
  grpc::Status Unmount(grpc::ServerContext* ctx, const v1::UnmountRequest* req, v1::UnmountResponse* resp) override;
  grpc::Status Status(grpc::ServerContext* ctx, const v1::FsdStatusRequest* req,
                      v1::FsdStatusResponse* resp) override;
  grpc::Status Prefetch(grpc::ServerContext* ctx, const v1::PrefetchRequest* req,
                        grpc::ServerWriter<v1::PrefetchProgress>* writer) override;

  cifs::Status MountWorkspace(const std::string& workspace, const std::string& mountpoint,
                              std::chrono::milliseconds timeout = {}, bool guess_prefetch = true);
  void UnmountAll();
  // True once the last mount has gone, or none came for a while: the
  // daemon has nothing left to do.
  bool ShouldExit();

 private:
  static constexpr auto kIdleExit = std::chrono::seconds(30);
  // Rewrites DIR/mounts.json; mu_ held.
  void SaveRecordsLocked();

  std::string dir_;
  std::shared_ptr<grpc::Channel> farm_;
  std::string farm_address_;
  ContentStore* store_;
  std::chrono::milliseconds timeout_;
  Logger* log_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<cifs::Mount>> mounts_;  // by mountpoint
  std::chrono::steady_clock::time_point empty_since_ = std::chrono::steady_clock::now();
  bool last_unmounted_ = false;
  bool closing_ = false;
};

}  // namespace cifs
