// cifs.v1.PullRequests: submit from a workspace's farm-side copy, list, show,
// approve and reject. Validation of the proposed merge and the merge queue
// build on the records kept here.
#pragma once

#include <map>
#include <memory>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cifs/v1/pr.grpc.pb.h"
#include "common/log.h"
#include "farmserver/auth.h"
#include "farmserver/builds/build_runner.h"
#include "farmserver/prs/affected.h"
#include "farmserver/prs/pr_state.h"
#include "farmserver/prs/validator.h"
#include "githost/git_host.h"
#include "metadata/metadata_store.h"
#include "store/action_cache.h"
#include "workspace/committer.h"
#include "workspace/provisioner.h"

namespace cifs {

class PullRequestService final : public v1::PullRequests::Service {
 public:
  // `node`: this farmserver's name in a cluster (empty: a single node). A
  // PR is validated and landed by its workspace's node.
  PullRequestService(const MetadataStores& metadata, std::string node, Authenticator* auth, Provisioner* provisioner, GitHost* host,
                     BuildRunner* runner, ActionCache* ac, const std::string& state_dir, Logger* log,
                     size_t max_batch = 8);

  // Validations left pending or running by a stopped farm start again.
  Status ResumeValidations();
  // This node now owns these PRs (their node died): their validations start
  // again here, and the queue looks at them.
  void TakeOver(const std::vector<int64_t>& numbers);
  // Stops the merge queue and validating (before the build runner stops).
  void Stop();
  ~PullRequestService() { Stop(); }

  grpc::Status Submit(grpc::ServerContext* ctx, const v1::SubmitRequest* req, v1::PullRequest* resp) override;
  grpc::Status PreviewSubmit(grpc::ServerContext* ctx, const v1::SubmitRequest* req,
                             v1::SubmitPreview* resp) override;
  grpc::Status List(grpc::ServerContext* ctx, const v1::ListPullRequestsRequest* req,
                    v1::ListPullRequestsResponse* resp) override;
  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetPullRequestRequest* req, v1::PullRequest* resp) override;
  grpc::Status Approve(grpc::ServerContext* ctx, const v1::ReviewRequest* req, v1::PullRequest* resp) override;
  grpc::Status Reject(grpc::ServerContext* ctx, const v1::ReviewRequest* req, v1::PullRequest* resp) override;
  // The merge queue (merge_queue.cc).
  grpc::Status Merge(grpc::ServerContext* ctx, const v1::MergeRequest* req, v1::PullRequest* resp) override;

 private:
  Result<v1::PullRequest> DoSubmit(const Identity& who, const v1::SubmitRequest& req);
  // The submitter's workspace, checked: theirs, and held by this node.
  Result<v1::Workspace> SubmittersWorkspace(const Identity& who, const std::string& name);
  Result<v1::PullRequest> Review(const Identity& who, const v1::ReviewRequest& req, bool approve);
  Result<v1::PullRequest> DoMerge(const Identity& who, int64_t number, bool squash);
  // Puts `pr` in its target's queue (the record; Queued() announces it once
  // it is written).
  [[nodiscard]] static Status MarkQueued(v1::PullRequest& pr, const std::string& by);
  // Moves `pr` by `event` (pr_state.h); FailedPrecondition, naming both,
  // when the event cannot happen in its state.
  [[nodiscard]] static Status Transition(v1::PullRequest& pr, PrEvent event);
  void Queued(const v1::PullRequest& pr);
  // Reads #number, applies `change` and writes it. When another node wrote
  // the record in between (ABORTED), `change` runs again on the fresh copy,
  // so neither write is lost. A change that fails writes nothing.
  Result<v1::PullRequest> Mutate(int64_t number, const std::function<Status(v1::PullRequest&)>& change);
  void SetQueuePositions(std::vector<v1::PullRequest>& prs);
  void RunQueue();
  void KickQueue();
  static bool QueuedBefore(const v1::PullRequest& a, const v1::PullRequest& b);
  // What the PR's latest validation says it touches.
  static Footprint FootprintOf(const v1::PullRequest& pr);
  static std::string Join(const std::vector<std::string>& items);
  // One round for one target's queue (`prs` in queue order): reconcile,
  // take out what is red, then land the next batch.
  void Step(const std::string& key, std::vector<v1::PullRequest>& prs);
  // Lands a lone PR whose validated merge sits on `tip`: no test again.
  void LandValidated(const v1::PullRequest& pr, const std::string& tip, const std::string& url);
  // Chains `batch` on `tip`, tests the chain as one and pushes it, or
  // ejects whom the failure is attributed to.
  void LandBatch(const std::string& key, std::vector<v1::PullRequest> batch, const std::string& tip,
                 const std::string& url);
  // Records then pushes `landings` (one per PR, the last one pushed); true
  // when they landed.
  bool Push(const std::vector<v1::PullRequest>& batch, const std::vector<std::string>& landings,
            const std::vector<std::string>& batch_builds, const std::string& url);
  void Eject(const v1::PullRequest& pr, const std::string& why);
  // Stores a queue step's outcome on #number while it is still queued at
  // `revision` (anything else changed it meanwhile: the next step decides
  // again). False when not stored; a failure is logged.
  bool SaveQueueStep(int64_t number, int revision, const std::function<void(v1::PullRequest&)>& change);
  // The same with a change that may refuse (its Status is logged).
  bool ApplyQueueStep(int64_t number, int revision, const std::function<Status(v1::PullRequest&)>& change);

  // #number is on its target as `commit`.
  void RecordMerged(int64_t number, const std::string& commit);
  // What the builds `build_ids` cached becomes trusted: `pr` landed, with
  // `landed` on its target.
  void TrustLanded(const v1::PullRequest& pr, const std::vector<std::string>& build_ids, const std::string& landed);
  Status RecordValidation(int64_t number, int32_t revision, const v1::Validation& v);
  void Validate(const v1::PullRequest& pr);
  // The PR still in review that `workspace` submitted, if any.
  Result<std::optional<v1::PullRequest>> OpenFrom(const std::string& workspace);

  // Whether this node validates and lands `pr`.
  bool Mine(const v1::PullRequest& pr) const { return node_.empty() || pr.node() == node_; }

  const std::string node_;
  const size_t max_batch_;  // most PRs in one batch (--merge-batch)
  PullRequestStore* prs_;
  WorkspaceStore* workspaces_;
  RepoStore* repos_;
  Authenticator* auth_;
  Provisioner* provisioner_;
  GitHost* host_;
  ActionCache* ac_;
  Logger* log_;
  Committer committer_;
  Merger merger_;
  // Records are written by compare-and-set (Mutate), so no lock guards
  // them. This one keeps two submissions from one workspace from both
  // finding no open PR and making two (held across the commit and push).
  std::mutex submit_mu_;
  std::mutex queue_mu_;
  std::condition_variable queue_wake_;
  bool queue_stopping_ = false;
  bool queue_kicked_ = false;
  // Per "REPO\nTARGET", touched by the queue thread alone: how many PRs the
  // next batch may hold (cut after a failure no one PR explains, back to
  // the most after a landing), and a pause after an error.
  // A batch waits until nothing was queued on its target for this long.
  static constexpr int64_t kSettleMs = 1500;
  struct TargetQueue {
    size_t window = 0;  // 0: max_batch_
    std::chrono::steady_clock::time_point retry_after;
  };
  std::map<std::string, TargetQueue> queue_state_;
  Validator validator_;  // last but the queue: its worker uses the members above
  std::thread queue_;
};

}  // namespace cifs
