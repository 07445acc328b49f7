// One mounted workspace's calls to the farm's WorkspaceFs service. Every
// call has a deadline and waits for a reconnecting channel until then, so
// an operation fails with EIO after a bounded wait while the farm is away.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <thread>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cifs/v1/fs.grpc.pb.h"
#include "farmclient/routing.h"

namespace cifs {

class FarmFs {
 public:
  FarmFs(std::shared_ptr<grpc::Channel> channel, std::string workspace, std::chrono::milliseconds timeout)
      : stub_(v1::WorkspaceFs::NewStub(channel)), workspace_(std::move(workspace)), timeout_(timeout) {}

  const std::string& workspace() const { return workspace_; }
  v1::WorkspaceFs::Stub* stub() { return stub_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }
  bool connected() const { return connected_; }
  void set_connected(bool c) {
    connected_ = c;
    if (c) away_ = false;
  }

  // Whether a call may be sent again when its connection broke under it
  // (the farm restarted mid-call; gRPC cannot say whether it got there).
  enum class Replay {
    kSafe,     // doing it twice is doing it once: reads, writes at an offset, setattr
    kRemoval,  // unlink, rmdir, rename: a replay that finds the name gone succeeded
    kNever,    // O_EXCL create, mkdir, symlink: callers use these as locks
  };

  // Makes a unary call; returns 0, the farm's errno (resp.error()) or EIO
  // (EACCES / ENOENT when the farm refuses the workspace). A farm that
  // restarts within the mount's timeout does not fail the call: it is sent
  // again (as `replay` allows) until the one deadline it started with.
  template <typename Req, typename Resp>
  int Call(grpc::Status (v1::WorkspaceFs::Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Req& req,
           Resp* resp, Replay replay = Replay::kSafe) {
    req.set_workspace(workspace_);
    // Once a call has waited out the whole timeout, the farm is known to be
    // away (not merely restarting): later calls wait only briefly, so a command made of several
    // operations fails after about one timeout, not one per operation.
    const auto deadline = std::chrono::system_clock::now() + (away_ ? std::min(timeout_, kWhileAway) : timeout_);
    bool replayed = false;
    grpc::Status s;
    for (;;) {
      grpc::ClientContext ctx;
      Prepare(&ctx, deadline);
      s = (stub_.get()->*method)(&ctx, req, resp);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE || replay == Replay::kNever ||
          std::chrono::system_clock::now() + kReplayPause >= deadline) {
        break;
      }
      std::this_thread::sleep_for(kReplayPause);
      replayed = true;
    }
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        away_ = true;
      }
      // A change may have happened on the farm without an answer saying so.
      if constexpr (requires { resp->mutation(); }) TouchedUnknown();
      return FromGrpc(s);
    }
    connected_ = true;
    away_ = false;
    if constexpr (requires { resp->mutation(); }) {
      if (resp->mutation() != 0) {
        if constexpr (requires { req.from(); }) {
          Mutated({req.from(), req.to()}, resp->mutation());
        } else {
          Mutated({req.path()}, resp->mutation());
        }
      }
    }
    if constexpr (requires { resp->error(); }) {
      if (replayed && replay == Replay::kRemoval && resp->error() == ENOENT) return 0;
      return resp->error();
    }
    return 0;
  }

  void Prepare(grpc::ClientContext* ctx) const { Prepare(ctx, std::chrono::system_clock::now() + timeout_); }
  void Prepare(grpc::ClientContext* ctx, std::chrono::system_clock::time_point deadline) const {
    ctx->set_deadline(deadline);
    ctx->set_wait_for_ready(true);
    RouteToWorkspace(ctx, workspace_);
  }
  int FromGrpc(const grpc::Status& s);

  // Held by a FUSE operation from before it sends a change to the farm
  // until its result is in the inode table. Change batches wait for none to
  // be in flight: a batch read on the farm before the change, applied while
  // its result travels back, would put the old state over it, or detach a
  // node the kernel has already moved (a rename) so its next write fails.
  class MutationScope {
   public:
    explicit MutationScope(FarmFs* fs) : fs_(fs) { fs_->EnterMutation(); }
    ~MutationScope() { fs_->LeaveMutation(); }
    MutationScope(const MutationScope&) = delete;
    MutationScope& operator=(const MutationScope&) = delete;

   private:
    FarmFs* fs_;
  };
  [[nodiscard]] MutationScope BeginMutation() { return MutationScope(this); }

  // For a long listing (a prefetch's): a mark taken before it starts (none
  // while a change is in flight). A directory's listing read on the farm
  // while the mount changed something in it could put the old state over
  // the new, so it is applied only if no change since the mark touched it
  // (IfUntouchedSince). Other changes do not hold it back: `git status`
  // takes its index lock while the tree is being listed.
  uint64_t QuietMark();
  // Runs `apply` (in memory only) unless, since `mark`, a change of this
  // mount touched `dir` itself, a directory above it, an entry in it or in
  // one of its subdirectories (see Touches), or one is in flight; no change
  // can begin meanwhile.
  template <typename Apply>
  bool IfUntouchedSince(uint64_t mark, const std::string& dir, Apply apply) {
    std::lock_guard gate(gate_mu_);
    if (mark == UINT64_MAX) return false;
    if (mutations_begun_ != mark) {
      if (in_flight_ > 0 || touched_floor_ > mark) return false;
      for (auto it = touched_.rbegin(); it != touched_.rend() && it->first > mark; ++it) {
        if (Touches(it->second, dir)) return false;
      }
    }
    apply();
    return true;
  }
  // Whether a change to `path` can change the listing of `dir`.
  static bool Touches(const std::string& path, const std::string& dir);

  // Changes the farm reported, applied by `apply` unless this mount changed
  // the path, or a directory above it, later than the batch's attributes
  // were read (the batch would put older attributes over newer ones).
  template <typename Apply>
  void ApplyBatch(const v1::ChangeBatch& batch, Apply apply) {
    std::unique_lock gate(gate_mu_);
    batch_waiting_ = true;  // new mutations wait, so this cannot starve
    gate_cv_.wait(gate, [&] { return in_flight_ == 0; });
    std::lock_guard lock(recent_mu_);
    for (const auto& change : batch.changes()) {
      if (!ChangedSince(change.path(), batch.stat_after())) apply(change);
    }
    std::erase_if(recent_, [&](const auto& kv) { return kv.second <= batch.stat_after(); });
    batch_waiting_ = false;
    gate_cv_.notify_all();
  }

 private:
  // Records this mount's change to `paths`, before the caller updates its
  // table with the result.
  void Mutated(std::initializer_list<std::string> paths, uint64_t mutation) {
    {
      std::lock_guard lock(recent_mu_);
      for (const auto& p : paths) recent_[p] = std::max(recent_[p], mutation);
    }
    Touched(paths);
  }
  // Records the paths of a change in flight, for IfUntouchedSince.
  void Touched(std::initializer_list<std::string> paths);
  // A change whose paths are not known (it failed in transit) holds back
  // every listing whose mark is older.
  void TouchedUnknown();

  void EnterMutation();
  void LeaveMutation();
  bool ChangedSince(const std::string& path, uint64_t stat_after) const;

  std::unique_ptr<v1::WorkspaceFs::Stub> stub_;
  std::string workspace_;
  std::chrono::milliseconds timeout_;
  static constexpr std::chrono::milliseconds kReplayPause{200};
  static constexpr std::chrono::milliseconds kWhileAway{500};
  std::atomic<bool> connected_{true};
  std::atomic<bool> away_{false};  // a call waited out its whole timeout
  std::mutex recent_mu_;
  std::unordered_map<std::string, uint64_t> recent_;  // path -> latest mutation by this mount
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  int in_flight_ = 0;
  uint64_t mutations_begun_ = 0;
  // (mutations_begun_ when recorded, path) of recent changes; bounded, and a
  // mark older than what was dropped counts as touched everywhere.
  static constexpr size_t kMaxTouched = 4096;
  std::deque<std::pair<uint64_t, std::string>> touched_;
  uint64_t touched_floor_ = 0;
  bool batch_waiting_ = false;
};

}  // namespace cifs
