// Validates pull requests: the latest revision's head merged into the
// target's current tip (in the mirror, never in a workspace), checked out
// clean and tested with Bazel on the farm (BuildRunner) for the targets the
// repository names in .cifs.toml ([validate] targets = [...], default //...).
// One validation at a time, in the order they were asked for. A validation
// reads only the trusted cache tier and writes its own (build_scopes.h): what
// it cached is dropped when it fails and trusted only once its merge lands.
// Before the first validation on a new tip of a target, the tip itself is
// tested (a baseline build): what is on the target is what the gate let in,
// so its results fill the trusted tier and a validation rebuilds only what
// the PR changed. After each validation a baseline runs again (all cache
// hits), so the next validation finds a warm Bazel that only trusted code
// used.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "cifs/v1/pr.pb.h"
#include "common/log.h"
#include "farmserver/builds/build_runner.h"
#include "farmserver/prs/affected.h"
#include "farmserver/prs/validation_state.h"
#include "githost/git_host.h"
#include "metadata/metadata_store.h"
#include "store/action_cache.h"
#include "workspace/merger.h"
#include "workspace/provisioner.h"

namespace cifs {

// What a repository asks of its PRs, from .cifs.toml in `dir`:
//   [validate] targets = ["//..."]   what to test (default //...)
//   [merge] auto = true               queue approved, green PRs by themselves
struct RepoPolicy {
  std::vector<std::string> targets;
  bool auto_merge = false;
};
RepoPolicy ReadRepoPolicy(const std::string& dir);

struct ValidationJob {
  int64_t number = 0;
  std::string branch;  // the PR's branch on the upstream
  int32_t revision = 0;
  std::string head;
  std::string repo;
  std::string target;
  std::string author;
  std::string title;
};

// A chain of approved PRs merged onto a target's tip, to test as one.
struct BatchJob {
  std::string repo;
  std::string commit;                  // the chain's last merge
  std::vector<std::string> also_read;  // its PRs' validation tiers
};

struct BatchOutcome {
  Status error = Status::Ok();           // the test could not run at all
  bool passed = false;
  std::vector<std::string> build_ids;    // each attempt's (and tier's) build
  std::vector<std::string> failed;       // failing in the last attempt
  std::vector<std::string> flaky;        // failed once, passed on the retry
};

class Validator {
 public:
  // `record` stores a revision's new validation state; it returns
  // FailedPrecondition when the revision is no longer the latest, which
  // stops the validation.
  using Recorder = std::function<Status(int64_t number, int32_t revision, const v1::Validation& v)>;

  Validator(std::string state_dir, Provisioner* provisioner, BuildRunner* runner, BuildStore* builds, RepoStore* repos,
            GitHost* host, ActionCache* ac, Recorder record, Logger* log);
  ~Validator() { Stop(); }

  void Enqueue(ValidationJob job);
  // Tests a batch ahead of any waiting validation (with one retry of what
  // failed). The future is left unset if the validator stops first.
  std::future<BatchOutcome> TestBatch(BatchJob job);
  // `tip` of `target` is in the trusted cache tier already (a validated
  // merge landed there), so no baseline build of it is needed.
  void MarkTrusted(const std::string& repo, const std::string& target, const std::string& tip);
  // Cancels the running validation's build and ends the worker.
  void Stop();

 private:
  // Whom the farm's own baseline builds are recorded for.
  static constexpr const char* kFarmUser = "farm";

  void Work();
  void Validate(const ValidationJob& job);
  bool stopped();
  // Checks `commit` out into the kind's checkout of `repo` and starts
  // testing it (the targets of its .cifs.toml, also returned in `policy`).
  Result<std::shared_ptr<FarmBuild>> StartTest(BuildKind kind, const std::string& user, const std::string& repo,
                                               const std::string& mirror, const std::string& commit,
                                               RepoPolicy* policy, const std::string& taint = "");
  // The repository's farm checkout (STATE/validations/REPO) at `commit`.
  Result<std::string> CheckOut(const std::string& repo, const std::string& mirror, const std::string& commit);
  // Submits `req` to run in the checkout `dir` of `repo`; it becomes current_.
  Result<std::shared_ptr<FarmBuild>> Run(BuildRequest req, const std::string& repo, const std::string& dir);
  // Fills the footprint of `v` (changed paths, affected targets, or
  // everything): git in the mirror, then `bazel query` in the merged tree.
  Status Analyze(const ValidationJob& job, const std::string& mirror, const ProposedMerge& merge,
                 const std::string& taint, v1::Validation& v);
  BatchOutcome RunBatch(const BatchJob& job);
  Result<std::vector<std::string>> FailedTargets(const std::string& build_id);
  // Waits for `build`; false when the validator stops meanwhile.
  bool Finish(FarmBuild& build);
  // Tests the target's tip as a baseline build (writing the trusted tier)
  // unless it was tested or landed through the queue already.
  Status EnsureBaseline(const ValidationJob& job, v1::Validation& v, const std::string& mirror,
                        const std::string& tip);
  // Tests `tip` of the job's target as a baseline build, which also leaves
  // a warm Bazel that only ran trusted code for the next validation.
  Status Baseline(const ValidationJob& job, const std::string& mirror, const std::string& tip);
  // Records `v`; false when the revision is stale or the validator stops.
  bool Update(const ValidationJob& job, v1::Validation& v, ValidationState state);

  const std::string state_dir_;
  Provisioner* provisioner_;
  BuildRunner* runner_;
  BuildStore* builds_;
  RepoStore* repos_;
  GitHost* host_;
  ActionCache* ac_;
  Recorder record_;
  Logger* log_;
  Merger merger_;

  std::mutex mu_;
  std::condition_variable wake_;
  struct QueuedBatch {
    BatchJob job;
    std::shared_ptr<std::promise<BatchOutcome>> done;
  };
  std::deque<std::variant<ValidationJob, QueuedBatch>> jobs_;
  std::shared_ptr<FarmBuild> current_;
  std::map<std::string, std::string> baselines_;  // "REPO\nTARGET" -> tip in the trusted tier
  bool stopping_ = false;
  std::thread worker_;
};


}  // namespace cifs
