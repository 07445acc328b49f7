#include "farmserver/prs/validator.h"

#include <fcntl.h>

#include <toml++/toml.h>

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
    ValidationJob job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Validate(job);
  }
}

bool Validator::Update(const ValidationJob& job, v1::Validation& v, const std::string& state) {
  v.set_state(state);
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

Result<std::shared_ptr<FarmBuild>> Validator::StartTest(BuildKind kind, const std::string& user,
                                                        const std::string& repo, const std::string& mirror,
                                                        const std::string& commit, RepoPolicy* policy) {
  // One checkout, build uid and Bazel root per repository, shared by its
  // baselines and validations (BuildRunner keeps them apart in time).
  const std::string parent = state_dir_ + "/validations";
  const std::string dir = parent + "/" + repo;
  // Each checkout is opened to its own build uid only (BuildRunner).
  CIFS_RETURN_IF_ERROR(MakeDirs(parent, 0711));
  CIFS_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  CIFS_RETURN_IF_ERROR(merger_.Checkout(mirror, dir, commit));
  BuildRequest req;
  req.kind = kind;
  req.user = user;
  // Not a workspace name (those cannot hold '@').
  req.workspace = "@validate-" + repo;
  req.workspace_dir = dir;
  req.cwd = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  req.command = "test";
  *policy = ReadRepoPolicy(dir);
  req.targets = policy->targets;
  auto build = runner_->Submit(std::move(req));
  if (!build.ok()) return build.status();
  std::lock_guard lock(mu_);
  current_ = *build;
  if (stopping_) current_->Cancel();
  return build;
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
  Update(job, v, "running");
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

void Validator::Validate(const ValidationJob& job) {
  v1::Validation v;
  auto fail = [&](const Status& s) {
    v.set_message(s.message());
    Update(job, v, "error");
    log_->Warn("validation_error", {{"number", job.number}, {"error", s.message()}});
  };
  if (!Update(job, v, "running")) return;
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
    Update(job, v, "conflicted");
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

  RepoPolicy policy;
  auto build = StartTest(BuildKind::kValidation, job.author, job.repo, mirror, merge->merge_commit, &policy);
  if (!build.ok()) return fail(build.status());
  v.set_auto_merge(policy.auto_merge);
  v.set_build_id((*build)->id());
  if (!Update(job, v, "running")) {
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
  Update(job, v, passed ? "passed" : "failed");
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
