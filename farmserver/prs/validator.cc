#include "farmserver/prs/validator.h"

#include <fcntl.h>

#include <toml++/toml.h>

#include <algorithm>

#include "common/clock.h"
#include "common/files.h"

namespace cifs {

RepoPolicy ReadRepoPolicy(const std::string& dir) {
  RepoPolicy p;
  try {
    auto config = toml::parse_file(dir + "/.cifs.toml");
    if (auto* list = config["validate"]["targets"].as_array()) {
      for (const auto& t : *list) {
        if (auto s = t.value<std::string>()) p.targets.push_back(*s);
      }
    }
    p.auto_merge = config["merge"]["auto"].value_or(false);
  } catch (const toml::parse_error&) {
    // No file, or not TOML: the defaults.
  }
  if (p.targets.empty()) p.targets.emplace_back("//...");
  return p;
}

Validator::Validator(std::string state_dir, Provisioner* provisioner, BuildRunner* runner, BuildStore* builds,
                     RepoStore* repos,
                     GitHost* host, ActionCache* ac, Recorder record, Logger* log)
    : state_dir_(std::move(state_dir)),
      provisioner_(provisioner),
      runner_(runner),
      builds_(builds),
      repos_(repos),
      host_(host),
      ac_(ac),
      record_(std::move(record)),
      log_(log) {
  worker_ = std::thread([this] { Work(); });
}

void Validator::Enqueue(ValidationJob job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  wake_.notify_all();
}

void Validator::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (current_) current_->Cancel();
    wake_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

void Validator::Work() {
  for (;;) {
    std::variant<ValidationJob, QueuedBatch> job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (auto* v = std::get_if<ValidationJob>(&job)) {
      Validate(*v);
    } else {
      auto& batch = std::get<QueuedBatch>(job);
      batch.done->set_value(RunBatch(batch.job));
    }
  }
}

bool Validator::Update(const ValidationJob& job, v1::Validation& v, ValidationState state) {
  v.set_state(std::string(ValidationStateName(state)));
  v.set_updated_ms(NowMs());
  Status s = record_(job.number, job.revision, v);
  if (!s.ok()) {
    log_->Info("validation_dropped", {{"number", job.number}, {"revision", job.revision}, {"why", s.message()}});
    return false;
  }
  std::lock_guard lock(mu_);
  return !stopping_;
}

bool Validator::stopped() {
  std::lock_guard lock(mu_);
  return stopping_;
}

Result<std::string> Validator::CheckOut(const std::string& repo, const std::string& mirror,
                                        const std::string& commit) {
  // One checkout, build uid and Bazel root per repository, shared by its
  // baselines, validations and batches (BuildRunner keeps them apart in time).
  const std::string parent = state_dir_ + "/validations";
  const std::string dir = parent + "/" + repo;
  // Each checkout is opened to its own build uid only (BuildRunner).
  CIFS_RETURN_IF_ERROR(MakeDirs(parent, 0711));
  CIFS_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  CIFS_RETURN_IF_ERROR(merger_.Checkout(mirror, dir, commit));
  return dir;
}

Result<std::shared_ptr<FarmBuild>> Validator::Run(BuildRequest req, const std::string& repo, const std::string& dir) {
  // Not a workspace name (those cannot hold '@').
  req.workspace = "@validate-" + repo;
  req.workspace_dir = dir;
  req.cwd = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto build = runner_->Submit(std::move(req));
  if (!build.ok()) return build.status();
  std::lock_guard lock(mu_);
  current_ = *build;
  if (stopping_) current_->Cancel();
  return build;
}

Result<std::shared_ptr<FarmBuild>> Validator::StartTest(BuildKind kind, const std::string& user,
                                                        const std::string& repo, const std::string& mirror,
                                                        const std::string& commit, RepoPolicy* policy,
                                                        const std::string& taint) {
  auto dir = CheckOut(repo, mirror, commit);
  if (!dir.ok()) return dir.status();
  BuildRequest req;
  req.kind = kind;
  req.user = user;
  req.taint = taint;
  req.command = "test";
  *policy = ReadRepoPolicy(*dir);
  req.targets = policy->targets;
  return Run(std::move(req), repo, *dir);
}

bool Validator::Finish(FarmBuild& build) {
  build.WaitDone();
  std::lock_guard lock(mu_);
  current_.reset();
  return !stopping_;
}

Status Validator::EnsureBaseline(const ValidationJob& job, v1::Validation& v, const std::string& mirror,
                                 const std::string& tip) {
  {
    std::lock_guard lock(mu_);
    if (baselines_[job.repo + "\n" + job.target] == tip) return Status::Ok();
  }
  v.set_message("first testing " + job.target + " at " + tip.substr(0, 12) + " for the trusted cache");
  Update(job, v, ValidationState::kRunning);
  return Baseline(job, mirror, tip);
}

Status Validator::Baseline(const ValidationJob& job, const std::string& mirror, const std::string& tip) {
  RepoPolicy policy;
  auto build = StartTest(BuildKind::kBaseline, kFarmUser, job.repo, mirror, tip, &policy);
  if (!build.ok()) return build.status();
  if (!Finish(**build)) return Status::Ok();
  auto record = builds_->GetBuild((*build)->id());
  if (!record.ok() || !record->has_value()) return Status::Internal("the baseline build's record is gone");
  // Tests that fail on the tip are no reason to test it again; a build
  // that never got to run is.
  int code = (*record)->exit_code();
  if (code != 0 && code != 1 && code != 3 && code != 4) {
    return Status::Unavailable("the baseline build of " + tip.substr(0, 12) + " ended " + (*record)->exit_name());
  }
  MarkTrusted(job.repo, job.target, tip);
  return Status::Ok();
}

void Validator::MarkTrusted(const std::string& repo, const std::string& target, const std::string& tip) {
  std::lock_guard lock(mu_);
  baselines_[repo + "\n" + target] = tip;
}

Status Validator::Analyze(const ValidationJob& job, const std::string& mirror, const ProposedMerge& merge,
                          const std::string& taint, v1::Validation& v) {
  constexpr int kMaxListed = 5000;
  auto changed = merger_.Diff(mirror, merge.target_tip, merge.merge_commit);
  if (!changed.ok()) return changed.status();
  auto before = merger_.PackageDirs(mirror, merge.target_tip);
  if (!before.ok()) return before.status();
  auto after = merger_.PackageDirs(mirror, merge.merge_commit);
  if (!after.ok()) return after.status();
  std::vector<ChangedPath> paths;
  for (const auto& c : *changed) {
    ChangedPath p;
    p.path = c.path;
    p.kind = c.kind == TreeChange::Kind::kAdded     ? ChangedPath::Kind::kAdded
             : c.kind == TreeChange::Kind::kDeleted ? ChangedPath::Kind::kDeleted
                                                    : ChangedPath::Kind::kModified;
    paths.push_back(std::move(p));
  }
  std::sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  auto everything = [&](const std::string& why) {
    v.clear_affected_targets();
    v.set_affects_everything(true);
    v.set_affected_why(why);
    return Status::Ok();
  };
  if (paths.size() > kMaxListed) return everything("it changes more than " + std::to_string(kMaxListed) + " files");
  for (const auto& p : paths) v.add_changed_paths(p.path);
  ChangeAnalysis analysis = AnalyzeChanges(paths, *before, *after);
  if (analysis.everything) return everything(analysis.why);
  if (analysis.roots.empty()) return Status::Ok();
  auto dir = CheckOut(job.repo, mirror, merge.merge_commit);
  if (!dir.ok()) return dir.status();
  BuildRequest req;
  req.kind = BuildKind::kAnalysis;
  req.user = job.author;
  req.taint = taint;
  req.command = "query";
  req.flags = {"--output=label"};
  req.targets = {AffectedQuery(analysis.roots)};
  req.capture_output = true;
  auto build = Run(std::move(req), job.repo, *dir);
  if (!build.ok()) return build.status();
  if (!Finish(**build)) return Status::Unavailable("the farm is stopping");
  auto record = builds_->GetBuild((*build)->id());
  if (!record.ok() || !record->has_value()) return Status::Internal("the analysis build's record is gone");
  if ((*record)->exit_code() != 0) {
    return everything("bazel query of what it affects ended " + (*record)->exit_name() + " (build " +
                      (*build)->id() + ")");
  }
  auto labels = ParseQueryLabels((*build)->output());
  if (labels.size() > kMaxListed) return everything("it affects more than " + std::to_string(kMaxListed) + " targets");
  for (auto& l : labels) v.add_affected_targets(std::move(l));
  return Status::Ok();
}

std::future<BatchOutcome> Validator::TestBatch(BatchJob job) {
  auto done = std::make_shared<std::promise<BatchOutcome>>();
  auto future = done->get_future();
  std::lock_guard lock(mu_);
  // Ahead of validations: landing what is approved is what people wait for.
  jobs_.emplace_front(QueuedBatch{std::move(job), std::move(done)});
  wake_.notify_all();
  return future;
}

Result<std::vector<std::string>> Validator::FailedTargets(const std::string& build_id) {
  auto record = builds_->GetBuild(build_id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return Status::Internal("the batch build's record is gone");
  std::vector<std::string> failed;
  for (const auto& t : (*record)->targets()) {
    bool test_failed = !t.test_status().empty() && t.test_status() != "PASSED" && t.test_status() != "FLAKY";
    if ((t.completed() && !t.built()) || test_failed) failed.push_back(t.label());
  }
  std::sort(failed.begin(), failed.end());
  failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
  return failed;
}

BatchOutcome Validator::RunBatch(const BatchJob& job) {
  BatchOutcome out;
  const std::string mirror = provisioner_->MirrorPath(job.repo);
  const std::string taint = "batch/" + job.commit;
  std::vector<std::string> read = job.also_read;
  std::vector<std::string> first_failed;
  // A failure is tried once more on the same tree: a target that passes
  // then is flaky, not the batch's fault.
  for (int attempt = 0; attempt < 2; ++attempt) {
    RepoPolicy policy;
    auto dir = CheckOut(job.repo, mirror, job.commit);
    if (!dir.ok()) {
      out.error = dir.status();
      return out;
    }
    BuildRequest req;
    req.kind = BuildKind::kBatch;
    req.user = kFarmUser;
    req.taint = taint;
    req.command = "test";
    req.flags = {"--keep_going"};
    req.also_read = read;
    policy = ReadRepoPolicy(*dir);
    req.targets = policy.targets;
    auto build = Run(std::move(req), job.repo, *dir);
    if (!build.ok()) {
      out.error = build.status();
      return out;
    }
    out.build_ids.push_back((*build)->id());
    if (!Finish(**build)) {
      out.error = Status::Unavailable("the farm is stopping");
      return out;
    }
    auto record = builds_->GetBuild((*build)->id());
    if (!record.ok() || !record->has_value()) {
      out.error = Status::Internal("the batch build's record is gone");
      return out;
    }
    int code = (*record)->exit_code();
    if (code == 0) {
      out.passed = true;
      out.flaky = first_failed;
      out.failed.clear();
      return out;
    }
    if (code != 1 && code != 3) {  // not a build or test failure: Bazel itself
      out.error = Status::Unavailable("the batch test ended " + (*record)->exit_name() + " (build " +
                                      (*build)->id() + ")");
      return out;
    }
    auto failed = FailedTargets((*build)->id());
    if (!failed.ok()) {
      out.error = failed.status();
      return out;
    }
    out.failed = *failed;
    if (attempt == 0) first_failed = *failed;
    // The retry reads what the first attempt cached (the same approved
    // code), so only what failed runs again.
    read.push_back(ValidationTier((*build)->id()));
  }
  return out;
}

void Validator::Validate(const ValidationJob& job) {
  v1::Validation v;
  auto fail = [&](const Status& s) {
    v.set_message(s.message());
    Update(job, v, ValidationState::kError);
    log_->Warn("validation_error", {{"number", job.number}, {"error", s.message()}});
  };
  if (!Update(job, v, ValidationState::kRunning)) return;
  auto repo = repos_->GetRepo(job.repo);
  if (!repo.ok() || !repo->has_value()) return fail(Status::NotFound("repository '" + job.repo + "' is gone"));
  // The mirror fetches the upstream: the target's tip as it is now and the
  // PR's branch. In a cluster, a node that took the PR over may have none yet.
  if (Status s = provisioner_->EnsureMirror(job.repo, (*repo)->url()); !s.ok()) return fail(s);
  if (Status s = provisioner_->Refresh(job.repo); !s.ok()) return fail(s);
  auto branch_tip = host_->BranchTip((*repo)->url(), job.branch);
  if (!branch_tip.ok()) {
    return fail(branch_tip.status().code() == Status::Code::kNotFound
                    ? Status::NotFound("the pull request's branch " + job.branch +
                                       " was deleted upstream; submit again to push it")
                    : branch_tip.status());
  }
  const std::string mirror = provisioner_->MirrorPath(job.repo);
  auto merge = merger_.Merge(mirror, job.target, job.head,
                             "Merge pull request #" + std::to_string(job.number) + ": " + job.title,
                             "refs/cifs/validated/" + std::to_string(job.number) + "-" + std::to_string(job.revision));
  if (!merge.ok()) return fail(merge.status());
  v.set_target_tip(merge->target_tip);
  if (!merge->conflicts.empty()) {
    for (const auto& c : merge->conflicts) v.add_conflicts(c);
    v.set_message("the pull request conflicts with " + job.target);
    Update(job, v, ValidationState::kConflicted);
    return;
  }
  v.set_merge_commit(merge->merge_commit);
  // The target's tip first, once per tip, so the trusted tier holds all the
  // PR did not change.
  if (Status s = EnsureBaseline(job, v, mirror, merge->target_tip); !s.ok()) {
    log_->Warn("baseline_failed", {{"repo", job.repo}, {"target", job.target}, {"error", s.message()}});
  }
  if (stopped()) return;
  v.clear_message();

  // What the PR affects, from its own tree (so as the PR's build uid), on
  // the Bazel server its test then reuses.
  const std::string taint = "pr/" + std::to_string(job.number) + "/" + std::to_string(job.revision);
  if (Status s = Analyze(job, mirror, *merge, taint, v); !s.ok()) {
    if (stopped()) return;
    v.clear_affected_targets();
    v.set_affects_everything(true);
    v.set_affected_why("its analysis failed: " + s.message());
  }
  RepoPolicy policy;
  auto build = StartTest(BuildKind::kValidation, job.author, job.repo, mirror, merge->merge_commit, &policy, taint);
  if (!build.ok()) return fail(build.status());
  v.set_auto_merge(policy.auto_merge);
  v.set_build_id((*build)->id());
  if (!Update(job, v, ValidationState::kRunning)) {
    (*build)->Cancel();
  }
  if (!Finish(**build)) return;  // validated again after the restart
  auto record = builds_->GetBuild(v.build_id());
  if (!record.ok() || !record->has_value()) return fail(Status::Internal("the validation build's record is gone"));
  bool passed = (*record)->exit_code() == 0;
  if (!passed) {
    // Never to land: what it cached is of no use to anyone.
    if (Status s = ac_->DropTier(ValidationTier(v.build_id())); !s.ok()) {
      log_->Warn("validation_cache_not_dropped", {{"build", v.build_id()}, {"error", s.message()}});
    }
  }
  v.set_message(passed ? "" : "bazel test exited with " + (*record)->exit_name());
  Update(job, v, passed ? ValidationState::kPassed : ValidationState::kFailed);
  log_->Info("validation_done", {{"number", job.number}, {"revision", job.revision}, {"passed", passed}});
  // The verdict is out; a Bazel that ran only the tip's (trusted) code now
  // waits for the next validation, which then skips the cold start.
  // Not when another validation waits: it starts the root cold itself, and a
  // cancelled Bazel start costs more than it saves (measured: bench-pr).
  {
    std::lock_guard lock(mu_);
    if (!jobs_.empty()) return;
  }
  Status warmed = Baseline(job, mirror, merge->target_tip);
  if (!warmed.ok()) {
    log_->Info("warm_up_stopped", {{"repo", job.repo}, {"target", job.target}, {"why", warmed.message()}});
  }
}

}  // namespace cifs
