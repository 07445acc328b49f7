// The remote-execution workers of this node: `count` cifs-worker processes
// the farm starts, watches and restarts. Each runs as an unprivileged uid
// (never root) with a credential of the `worker` role the farm issues it,
// and dials this node's gRPC port like any client, and in a cluster every
// other node's (the same CA signs every node's certificates).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "process/child_process.h"
#include "farmserver/exec/scheduler.h"
#include "identity/certificate_authority.h"

namespace cifs {

struct WorkerPoolOptions {
  int count = 0;
  std::string exe;          // the cifs-worker binary
  std::string dir;          // STATE/workers: credentials, caches, logs
  std::string farm;         // host:port of this node's gRPC side
  std::vector<std::string> peers;  // and of the cluster's other nodes: served too
  std::string node;         // names the credential (cluster node, or "farm")
  PlatformProps platform;
  std::string cache_size = "10GiB";  // each worker's file cache bound
  std::optional<RunAs> run_as;  // unset: the farm's own uid (not root)
};

class WorkerPool {
 public:
  static Result<std::unique_ptr<WorkerPool>> Start(WorkerPoolOptions options, const CertificateAuthority& ca,
                                                   Logger* log);
  explicit WorkerPool(WorkerPoolOptions options, Logger* log) : options_(std::move(options)), log_(log) {}
  ~WorkerPool();

 private:
  Status WriteCredential(const CertificateAuthority& ca);
  Result<ChildProcess> Launch(int index);
  void Watch();

  WorkerPoolOptions options_;
  Logger* log_;
  std::atomic<bool> stopping_{false};
  std::vector<std::optional<ChildProcess>> children_;  // touched by the watcher only, once started
  std::thread watcher_;
};

}  // namespace cifs
