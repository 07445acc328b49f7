// The merge queue: approved, green PRs of each target are merged as a chain
// on the tip, tested as one (Validator::TestBatch), and the tested chain is
// pushed as a fast-forward; a failure ejects the PR it belongs to, or cuts
// the next batch (decisions in lanes.h). The queue is the set of PRs in
// state "queued" in the metadata store, so a restart picks it up as it was.
// Its own thread; no lock is held while it talks to git, Bazel or the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cifs/v1/pr.pb.h"
#include "common/log.h"
#include "farmserver/prs/affected.h"
#include "farmserver/prs/validator.h"
#include "githost/git_host.h"
#include "metadata/metadata_store.h"
#include "store/action_cache.h"
#include "workspace/merger.h"
#include "workspace/provisioner.h"

namespace cifs {

class MergeQueue {
 public:
  struct Deps {
    PullRequestStore* prs;
    RepoStore* repos;
    GitHost* host;
    Provisioner* provisioner;
    ActionCache* ac;
    Validator* validator;
  };
  // `node`: this farmserver in a cluster ("" alone): it lands the PRs whose
  // workspace it holds. `max_batch`: most PRs tested as one.
  MergeQueue(Deps deps, std::string node, size_t max_batch, Logger* log);
  ~MergeQueue() { Stop(); }

  void Start();
  void Stop();
  // Something changed (a PR queued, a verdict, a takeover): look now.
  void Kick();
  // Sets the queue position, lane and the PR waited on of each queued PR.
  void SetPositions(std::vector<v1::PullRequest>& prs) const;

 private:
  void RunQueue();
  bool Mine(const v1::PullRequest& pr) const { return node_.empty() || pr.node() == node_; }
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

  const Deps d_;
  const std::string node_;
  const size_t max_batch_;
  Logger* log_;
  Merger merger_;

  // A batch waits until nothing was queued on its target for this long:
  // PRs queued together (one `cifs pr merge` after another) meet in one.
  // (`cifs pr merge` calls come ~30 ms apart.)
  static constexpr int64_t kSettleMs = 500;
  // Per "REPO\nTARGET", touched by the queue thread alone: how many PRs the
  // next batch may hold (cut after a failure no one PR explains, back to
  // the most after a landing), and a pause after an error.
  struct TargetQueue {
    size_t window = 0;  // 0: max_batch_
    std::chrono::steady_clock::time_point retry_after;
  };
  std::map<std::string, TargetQueue> targets_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread thread_;
};

}  // namespace cifs
