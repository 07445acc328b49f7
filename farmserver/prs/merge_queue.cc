// The merge queue: approved, green PRs land one at a time per farm, each as
// the exact merge commit that was validated on the target's current tip,
// pushed as a fast-forward. A tip that moved means validating again first;
// a red result takes the PR out of the queue. The queue is the set of PRs in
// state "queued" in the metadata store, so a restart picks it up as it was.
#include <algorithm>
#include <map>
#include <optional>

#include "common/clock.h"
#include "common/grpc_status.h"
#include "farmserver/prs/pull_request_service.h"

namespace cifs {

namespace {

bool Green(const v1::Revision& rev) { return rev.validation().state() == "passed"; }

}  // namespace

void PullRequestService::MarkQueued(v1::PullRequest& pr, const std::string& by) {
  pr.set_state("queued");
  pr.set_merge_requested_by(by);
  pr.set_queued_ms(NowMs());
  pr.set_queue_note("waiting to land on " + pr.target_branch());
  pr.set_updated_ms(pr.queued_ms());
}

void PullRequestService::Queued(const v1::PullRequest& pr) {
  log_->Info("pr_queued", {{"number", pr.number()}, {"by", pr.merge_requested_by()}, {"target", pr.target_branch()}});
  KickQueue();
}

void PullRequestService::KickQueue() {
  std::lock_guard lock(queue_mu_);
  queue_kicked_ = true;
  queue_wake_.notify_all();
}

Result<v1::PullRequest> PullRequestService::DoMerge(const Identity& who, int64_t number, bool squash) {
  std::optional<v1::PullRequest> already;  // queued before: nothing to write
  auto pr = Mutate(number, [&](v1::PullRequest& pr) -> Status {
    if (pr.author() != who.name && !RoleAtLeast(who.role, Role::kLead)) {
      return Status::PermissionDenied("only the author, a lead or an admin may merge #" + std::to_string(number));
    }
    if (pr.state() == "queued") {
      already = pr;
      return Status::AlreadyExists("queued");
    }
    if (pr.state() != "approved") {
      return Status::FailedPrecondition("#" + std::to_string(number) + " is " + pr.state() +
                                        (pr.state() == "open" ? ", not approved" : ""));
    }
    const auto& rev = pr.revisions(pr.revisions_size() - 1);
    if (!Green(rev)) {
      return Status::FailedPrecondition("#" + std::to_string(number) + " revision " + std::to_string(rev.number()) +
                                        " is not green: validation " + rev.validation().state());
    }
    pr.set_squash(squash);
    MarkQueued(pr, who.name);
    return Status::Ok();
  });
  if (already) return *already;
  if (!pr.ok()) return pr.status();
  Queued(*pr);
  return pr;
}

grpc::Status PullRequestService::Merge(grpc::ServerContext* ctx, const v1::MergeRequest* req, v1::PullRequest* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto pr = DoMerge(*id, req->number(), req->squash());
  if (!pr.ok()) return ToGrpc(pr.status());
  std::vector<v1::PullRequest> one = {std::move(*pr)};
  SetQueuePositions(one);
  *resp = std::move(one[0]);
  return grpc::Status::OK;
}

void PullRequestService::SetQueuePositions(std::vector<v1::PullRequest>& prs) {
  v1::ListPullRequestsRequest f;
  f.set_state("queued");
  auto queued = prs_->ListPullRequests(f);
  if (!queued.ok()) return;
  for (auto& pr : prs) {
    if (pr.state() != "queued") continue;
    int ahead = 1;
    for (const auto& q : *queued) {
      if (q.target_branch() == pr.target_branch() && q.repo() == pr.repo() &&
          (q.queued_ms() < pr.queued_ms() || (q.queued_ms() == pr.queued_ms() && q.number() < pr.number()))) {
        ++ahead;
      }
    }
    pr.set_queue_position(ahead);
  }
}

void PullRequestService::RunQueue() {
  for (;;) {
    {
      // Woken by a merge request or a finished validation; the timeout only
      // catches what happened elsewhere (a tip moved upstream).
      std::unique_lock lock(queue_mu_);
      queue_wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return queue_stopping_ || queue_kicked_; });
      queue_kicked_ = false;
      if (queue_stopping_) return;
    }
    v1::ListPullRequestsRequest f;
    f.set_state("queued");
    auto queued = prs_->ListPullRequests(f);
    if (!queued.ok() || queued->empty()) continue;
    // Each target's queue on its own: the oldest request of each lands (or
    // is validated again) before the next of the same target.
    std::map<std::pair<std::string, std::string>, const v1::PullRequest*> heads;
    for (const auto& pr : *queued) {
      if (!Mine(pr)) continue;  // its workspace's node lands it
      auto& head = heads[{pr.repo(), pr.target_branch()}];
      if (!head || pr.queued_ms() < head->queued_ms() ||
          (pr.queued_ms() == head->queued_ms() && pr.number() < head->number())) {
        head = &pr;
      }
    }
    for (const auto& [target, pr] : heads) Land(pr->number());
  }
}

void PullRequestService::TrustLandedValidation(const v1::PullRequest& pr, const std::string& build_id,
                                               const std::string& landed) {
  // The validated merge is the target now: a lead approved the code that
  // produced these results and it is what every later build of the target
  // runs, so they may decide verdicts.
  auto moved = ac_->MoveTier(ValidationTier(build_id), kTrustedTier);
  if (!moved.ok()) {
    log_->Warn("validation_cache_not_trusted", {{"build", build_id}, {"error", moved.status().message()}});
    return;
  }
  log_->Info("validation_cache_trusted", {{"build", build_id}, {"entries", *moved}});
  // The landed commit has the validated tree: no baseline of it is needed.
  validator_.MarkTrusted(pr.repo(), pr.target_branch(), landed);
}

// No lock is held here: git, the other nodes' cache shards and PostgreSQL
// are all talked to, and every write is a compare-and-set (SaveQueueStep).
void PullRequestService::Land(int64_t number) {
  auto found = prs_->GetPullRequest(number);
  if (!found.ok() || !found->has_value() || (*found)->state() != "queued") return;
  v1::PullRequest pr = **found;
  auto repo = repos_->GetRepo(pr.repo());
  if (!repo.ok() || !repo->has_value()) return;
  const std::string url = (*repo)->url();
  const int revision = pr.revisions_size();
  const v1::Validation v = pr.revisions(revision - 1).validation();
  auto note = [&](const std::string& text) {
    return SaveQueueStep(number, revision, [&](v1::PullRequest& p) { p.set_queue_note(text); });
  };
  if (v.state() == "pending" || v.state() == "running") return;  // the validator is at it
  if (!Green(pr.revisions(revision - 1))) {
    std::string why = "left the queue: validation on " + pr.target_branch() + " " + v.state() +
                      (v.message().empty() ? "" : " (" + v.message() + ")");
    if (SaveQueueStep(number, revision, [&](v1::PullRequest& p) {
          p.set_state("approved");
          p.set_queue_note(why);
        })) {
      log_->Info("pr_dequeued", {{"number", number}, {"validation", v.state()}});
    }
    return;
  }
  auto tip = host_->BranchTip(url, pr.target_branch());
  if (!tip.ok()) {
    note("cannot read " + pr.target_branch() + ": " + tip.status().message());
    return;
  }
  // Landed already (a restart after the push, before it was recorded).
  if (*tip == v.merge_commit() || (!pr.landing_commit().empty() && *tip == pr.landing_commit())) {
    TrustLandedValidation(pr, v.build_id(), *tip);
    RecordMerged(number, *tip);
    log_->Info("pr_merged", {{"number", number}, {"commit", v.merge_commit()}, {"reconciled", true}});
    return;
  }
  bool elsewhere = !node_.empty() && v.node() != node_;
  if (*tip != v.target_tip() || elsewhere) {
    // Validated on a tip that is gone, or by a node that is gone (taken
    // over: the merge commit is in that node's mirror): validate the same
    // revision again, here and on the tip as it is, before anything lands.
    if (Status s = ac_->DropTier(ValidationTier(v.build_id())); !s.ok()) {
      log_->Warn("validation_cache_not_dropped", {{"build", v.build_id()}, {"error", s.message()}});
    }
    std::string why = elsewhere ? "taken over from node " + v.node() + "; validating again on " + tip->substr(0, 12)
                                : pr.target_branch() + " moved on; validating again on " + tip->substr(0, 12);
    v1::PullRequest again;
    bool saved = SaveQueueStep(number, revision, [&](v1::PullRequest& p) {
      v1::Validation pending;
      pending.set_state("pending");
      pending.set_updated_ms(NowMs());
      *p.mutable_revisions(revision - 1)->mutable_validation() = pending;
      p.set_queue_note(why);
      again = p;
    });
    if (saved) Validate(again);
    return;
  }
  // What lands: the validated merge commit, or with --squash one commit on
  // the same tip with the same (validated) tree. Recorded before the push,
  // so a restart can tell whether it landed.
  std::string landing = v.merge_commit();
  if (pr.squash()) {
    auto squashed = merger_.Squash(provisioner_->MirrorPath(pr.repo()), v.merge_commit(), *tip,
                                   pr.title() + " (#" + std::to_string(number) + ")", pr.author(),
                                   pr.author() + "@cifs.local");
    if (!squashed.ok()) {
      note("cannot squash: " + squashed.status().message());
      return;
    }
    landing = *squashed;
  }
  // Unrecorded (or changed meanwhile by another node), a landing could not
  // be told apart from none after a restart: no push until it is recorded.
  if (!SaveQueueStep(number, revision, [&](v1::PullRequest& p) { p.set_landing_commit(landing); })) return;
  Status pushed = host_->Push(provisioner_->MirrorPath(pr.repo()), url, landing, pr.target_branch(),
                              /*force=*/false);
  if (pushed.ok()) {
    TrustLandedValidation(pr, v.build_id(), landing);
    RecordMerged(number, landing);
    KickQueue();  // the next one of this target can go at once
    log_->Info("pr_merged", {{"number", number}, {"commit", landing}, {"target", pr.target_branch()}});
  } else if (pushed.code() == Status::Code::kFailedPrecondition) {
    // The tip moved between the check and the push: the next round
    // validates again.
    note(pushed.message());
  } else {
    note("cannot push: " + pushed.message());
  }
}

void PullRequestService::RecordMerged(int64_t number, const std::string& commit) {
  // It is on the target whatever else happened to the record: no precondition.
  auto merged = Mutate(number, [&](v1::PullRequest& p) {
    p.set_merged_commit(commit);
    p.set_merged_ms(NowMs());
    p.set_state("merged");
    p.set_queue_note("");
    p.set_updated_ms(NowMs());
    return Status::Ok();
  });
  if (!merged.ok()) {
    // The queue finds it again (state queued) and reconciles it from the tip.
    log_->Warn("pr_not_saved", {{"number", number}, {"state", "merged"}, {"error", merged.status().message()}});
  }
}

bool PullRequestService::SaveQueueStep(int64_t number, int revision,
                                       const std::function<void(v1::PullRequest&)>& change) {
  auto saved = Mutate(number, [&](v1::PullRequest& p) -> Status {
    if (p.state() != "queued" || p.revisions_size() != revision) {
      return Status::Aborted("#" + std::to_string(number) + " changed meanwhile: " + p.state() + ", revision " +
                             std::to_string(p.revisions_size()));
    }
    change(p);
    p.set_updated_ms(NowMs());
    return Status::Ok();
  });
  if (!saved.ok()) {
    log_->Warn("pr_not_saved", {{"number", number}, {"error", saved.status().message()}});
    return false;
  }
  return true;
}

}  // namespace cifs
