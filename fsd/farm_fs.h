// One mounted workspace's calls to the farm's WorkspaceFs service. Every
// call has a deadline and waits for a reconnecting channel until then, so
// an operation fails with EIO after a bounded wait while the farm is away.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cifs/v1/fs.grpc.pb.h"

namespace cifs {

class FarmFs {
 public:
  FarmFs(std::shared_ptr<grpc::Channel> channel, std::string workspace, std::chrono::milliseconds timeout)
      : stub_(v1::WorkspaceFs::NewStub(channel)), workspace_(std::move(workspace)), timeout_(timeout) {}

  const std::string& workspace() const { return workspace_; }
  v1::WorkspaceFs::Stub* stub() { return stub_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }
  bool connected() const { return connected_; }
  void set_connected(bool c) { connected_ = c; }

  // Makes a unary call; returns 0, the farm's errno (resp.error()) or EIO
  // (EACCES / ENOENT when the farm refuses the workspace). `last_error` gets
  // the gRPC failure, for logs.
  template <typename Req, typename Resp>
  int Call(grpc::Status (v1::WorkspaceFs::Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Req& req,
           Resp* resp) {
    req.set_workspace(workspace_);
    grpc::ClientContext ctx;
    Prepare(&ctx);
    grpc::Status s = (stub_.get()->*method)(&ctx, req, resp);
    if (!s.ok()) return FromGrpc(s);
    connected_ = true;
    if constexpr (requires { resp->mutation(); }) {
      if (resp->mutation() != 0) {
        if constexpr (requires { req.from(); }) {
          Mutated({req.from(), req.to()}, resp->mutation());
        } else {
          Mutated({req.path()}, resp->mutation());
        }
      }
    }
    if constexpr (requires { resp->error(); }) return resp->error();
    return 0;
  }

  void Prepare(grpc::ClientContext* ctx) const {
    ctx->set_deadline(std::chrono::system_clock::now() + timeout_);
    ctx->set_wait_for_ready(true);
  }
  int FromGrpc(const grpc::Status& s);

  // Changes the farm reported, applied by `apply` unless this mount changed
  // the same path later than the batch's attributes were read (the batch
  // would put older attributes over newer ones). Holding the lock across
  // check and apply orders them against Mutated.
  template <typename Apply>
  void ApplyBatch(const v1::ChangeBatch& batch, Apply apply) {
    std::lock_guard lock(recent_mu_);
    for (const auto& change : batch.changes()) {
      auto it = recent_.find(change.path());
      if (it != recent_.end() && it->second > batch.stat_after()) continue;
      apply(change);
    }
    std::erase_if(recent_, [&](const auto& kv) { return kv.second <= batch.stat_after(); });
  }

 private:
  // Records this mount's change to `paths`, before the caller updates its
  // table with the result.
  void Mutated(std::initializer_list<std::string> paths, uint64_t mutation) {
    std::lock_guard lock(recent_mu_);
    for (const auto& p : paths) recent_[p] = std::max(recent_[p], mutation);
  }

  std::unique_ptr<v1::WorkspaceFs::Stub> stub_;
  std::string workspace_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> connected_{true};
  std::mutex recent_mu_;
  std::unordered_map<std::string, uint64_t> recent_;  // path -> latest mutation by this mount
};

}  // namespace cifs
