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
#include "farmserver/prs/pr_diffs.h"
#include "farmserver/prs/pr_state.h"
#include "farmserver/prs/merge_queue.h"
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
  grpc::Status Comment(grpc::ServerContext* ctx, const v1::ReviewRequest* req, v1::PullRequest* resp) override;
  grpc::Status GetDiff(grpc::ServerContext* ctx, const v1::GetDiffRequest* req, v1::PullRequestDiff* resp) override;
  // Queues an approved, green PR (MergeQueue lands it).
  grpc::Status Merge(grpc::ServerContext* ctx, const v1::MergeRequest* req, v1::PullRequest* resp) override;

 private:
  Result<v1::PullRequest> DoSubmit(const Identity& who, const v1::SubmitRequest& req);
  // The submitter's workspace, checked: theirs, and held by this node.
  Result<v1::Workspace> SubmittersWorkspace(const Identity& who, const std::string& name);
  enum class Verdict { kApprove, kReject, kNone };
  Result<v1::PullRequest> Review(const Identity& who, const v1::ReviewRequest& req, Verdict verdict);
  // The record of PR `number`, or NotFound.
  Result<v1::PullRequest> Load(int64_t number);
  Result<v1::PullRequest> DoMerge(const Identity& who, int64_t number, bool squash);
  // Announces `pr`, queued in its record, to the log and the queue.
  void Queued(const v1::PullRequest& pr);
  // MutatePullRequest on this service's store.
  Result<v1::PullRequest> Mutate(int64_t number, const std::function<Status(v1::PullRequest&)>& change);
  Status RecordValidation(int64_t number, int32_t revision, const v1::Validation& v);
  void Validate(const v1::PullRequest& pr);
  // The PR still in review that `workspace` submitted, if any.
  Result<std::optional<v1::PullRequest>> OpenFrom(const std::string& workspace);

  // Whether this node validates and lands `pr`.
  bool Mine(const v1::PullRequest& pr) const { return node_.empty() || pr.node() == node_; }

  const std::string node_;
  PullRequestStore* prs_;
  WorkspaceStore* workspaces_;
  RepoStore* repos_;
  Authenticator* auth_;
  Provisioner* provisioner_;
  GitHost* host_;
  ActionCache* ac_;
  Logger* log_;
  Committer committer_;
  PrDiffs diffs_;
  // Records are written by compare-and-set (Mutate), so no lock guards
  // them. This one keeps two submissions from one workspace from both
  // finding no open PR and making two (held across the commit and push).
  std::mutex submit_mu_;
  Validator validator_;  // last but the queue: its worker uses the members above
  MergeQueue queue_;     // last: its thread uses the validator
};

}  // namespace cifs
