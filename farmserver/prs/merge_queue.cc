#include <algorithm>
#include <map>
#include <optional>

#include "common/clock.h"
#include "common/grpc_status.h"
#include "farmserver/prs/lanes.h"
#include "farmserver/prs/merge_queue.h"
#include "farmserver/prs/pr_records.h"

namespace cifs {

MergeQueue::MergeQueue(Deps deps, std::string node, size_t max_batch, Logger* log)
    : d_(deps), node_(std::move(node)), max_batch_(max_batch), log_(log) {}

void MergeQueue::Start() {
  thread_ = std::thread([this] { RunQueue(); });
}

void MergeQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void MergeQueue::Kick() {
  std::lock_guard lock(mu_);
  kicked_ = true;
  wake_.notify_all();
}

void MergeQueue::SetPositions(std::vector<v1::PullRequest>& prs) const {
  v1::ListPullRequestsRequest f;
  f.set_state(std::string(PrStateName(PrState::kQueued)));
  auto queued = d_.prs->ListPullRequests(f);
  if (!queued.ok()) return;
  std::map<std::pair<std::string, std::string>, std::vector<const v1::PullRequest*>> targets;
  for (const auto& q : *queued) targets[{q.repo(), q.target_branch()}].push_back(&q);
  for (auto& [key, list] : targets) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return QueuedBefore(*a, *b); });
  }
  for (auto& pr : prs) {
    if (pr.state() != PrStateName(PrState::kQueued)) continue;
    const auto& list = targets[{pr.repo(), pr.target_branch()}];
    std::vector<QueuedPr> queue;
    for (const auto* q : list) queue.push_back({true, FootprintOf(*q)});
    auto slots = AssignLanes(queue);
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i]->number() != pr.number()) continue;
      pr.set_queue_position(static_cast<int32_t>(i + 1));
      pr.set_lane(slots[i].lane);
      pr.set_waits_on(slots[i].waits_on >= 0 ? list[static_cast<size_t>(slots[i].waits_on)]->number() : 0);
    }
  }
}

void MergeQueue::RunQueue() {
  for (;;) {
    {
      // Woken by a merge request or a finished validation; the timeout only
      // catches what happened elsewhere (a tip moved upstream).
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_ || kicked_; });
      kicked_ = false;
      if (stopping_) return;
    }
    v1::ListPullRequestsRequest f;
    f.set_state(std::string(PrStateName(PrState::kQueued)));
    auto queued = d_.prs->ListPullRequests(f);
    if (!queued.ok() || queued->empty()) continue;
    // Each target's queue on its own, in the order PRs were queued.
    std::map<std::pair<std::string, std::string>, std::vector<v1::PullRequest>> targets;
    for (auto& pr : *queued) {
      if (Mine(pr)) targets[{pr.repo(), pr.target_branch()}].push_back(std::move(pr));  // else its node lands it
    }
    for (auto& [target, prs] : targets) {
      std::sort(prs.begin(), prs.end(), QueuedBefore);
      Step(target.first + "\n" + target.second, prs);
    }
  }
}

bool MergeQueue::QueuedBefore(const v1::PullRequest& a, const v1::PullRequest& b) {
  return a.queued_ms() != b.queued_ms() ? a.queued_ms() < b.queued_ms() : a.number() < b.number();
}

Footprint MergeQueue::FootprintOf(const v1::PullRequest& pr) {
  const auto& v = pr.revisions(pr.revisions_size() - 1).validation();
  Footprint f;
  // No paths at all: validated before the farm analysed PRs (every PR
  // changes something), so nothing is known and it meets everything.
  f.everything = v.affects_everything() || v.changed_paths().empty();
  f.targets.assign(v.affected_targets().begin(), v.affected_targets().end());
  f.paths.assign(v.changed_paths().begin(), v.changed_paths().end());
  std::sort(f.targets.begin(), f.targets.end());
  std::sort(f.paths.begin(), f.paths.end());
  return f;
}

void MergeQueue::TrustLanded(const v1::PullRequest& pr, const std::vector<std::string>& build_ids,
                                     const std::string& landed) {
  // What landed is the target now: a lead approved the code that produced
  // these results and it is what every later build of the target runs, so
  // they may decide verdicts.
  for (const auto& id : build_ids) {
    if (id.empty()) continue;
    auto moved = d_.ac->MoveTier(ValidationTier(id), kTrustedTier);
    if (!moved.ok()) {
      log_->Warn("validation_cache_not_trusted", {{"build", id}, {"error", moved.status().message()}});
      continue;
    }
    log_->Info("validation_cache_trusted", {{"build", id}, {"entries", *moved}});
  }
  // The landed commit's tree was tested: no baseline of it is needed.
  d_.validator->MarkTrusted(pr.repo(), pr.target_branch(), landed);
}

// No lock is held here: git, the other nodes' cache shards, Bazel and
// PostgreSQL are all talked to, and every write is a compare-and-set
// (SaveQueueStep).
void MergeQueue::Step(const std::string& key, std::vector<v1::PullRequest>& prs) {
  auto& lane_state = targets_[key];
  if (std::chrono::steady_clock::now() < lane_state.retry_after) return;
  const v1::PullRequest& first = prs.front();
  auto repo = d_.repos->GetRepo(first.repo());
  if (!repo.ok() || !repo->has_value()) return;
  const std::string url = (*repo)->url();
  const std::string target = first.target_branch();
  const std::string mirror = d_.provisioner->MirrorPath(first.repo());
  auto tip = d_.host->BranchTip(url, target);
  if (!tip.ok()) {
    for (const auto& pr : prs) {
      SaveQueueStep(pr.number(), pr.revisions_size(),
                    [&](v1::PullRequest& p) { p.set_queue_note("cannot read " + target + ": " + tip.status().message()); });
    }
    lane_state.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    return;
  }
  // Reconcile landings a restart interrupted, and take out what is red.
  std::vector<v1::PullRequest> waiting;
  for (auto& pr : prs) {
    const int revision = pr.revisions_size();
    const v1::Validation& v = pr.revisions(revision - 1).validation();
    if (!pr.batch_tip().empty()) {
      auto landed = merger_.Contains(mirror, *tip, pr.batch_tip());
      if (!landed.ok() || !*landed) {
        // The mirror may not have the tip yet.
        if (Status s = d_.provisioner->Refresh(pr.repo()); s.ok()) landed = merger_.Contains(mirror, *tip, pr.batch_tip());
      }
      if (landed.ok() && *landed) {
        TrustLanded(pr, {v.build_id(), pr.batch_build_id()}, pr.landing_commit());
        RecordMerged(pr.number(), pr.landing_commit());
        log_->Info("pr_merged", {{"number", pr.number()}, {"commit", pr.landing_commit()}, {"reconciled", true}});
        continue;
      }
      // Recorded but never pushed: the next batch decides again.
      if (!SaveQueueStep(pr.number(), revision, [](v1::PullRequest& p) {
            p.clear_batch_tip();
            p.clear_landing_commit();
          })) {
        continue;
      }
      pr.clear_batch_tip();
      pr.clear_landing_commit();
    }
    if (!Undecided(v.state()) && !Green(pr.revisions(revision - 1))) {
      Eject(pr, "left the queue: validation on " + target + " " + v.state() +
                    (v.message().empty() ? "" : " (" + v.message() + ")"));
      continue;
    }
    waiting.push_back(pr);
  }
  std::vector<QueuedPr> queue;
  for (const auto& pr : waiting) queue.push_back({Green(pr.revisions(pr.revisions_size() - 1)), FootprintOf(pr)});
  std::vector<size_t> picked = PickBatch(queue, lane_state.window ? lane_state.window : max_batch_);
  if (picked.empty()) return;
  std::vector<v1::PullRequest> batch;
  for (size_t i : picked) batch.push_back(waiting[i]);
  const v1::Validation& lone = batch[0].revisions(batch[0].revisions_size() - 1).validation();
  if (batch.size() == 1 && lone.target_tip() == *tip && (node_.empty() || lone.node() == node_)) {
    // The exact commit its validation tested still sits on the tip.
    LandValidated(batch[0], *tip, url);
    return;
  }
  // PRs queued together (one `cifs pr merge` after another) should meet
  // in one batch: a test is about to cost far more than this short wait.
  int64_t newest = 0;
  for (const auto& pr : waiting) newest = std::max(newest, pr.queued_ms());
  if (NowMs() - newest < kSettleMs) {
    lane_state.retry_after = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSettleMs / 4);
    return;
  }
  LandBatch(key, batch, *tip, url);
}

void MergeQueue::LandValidated(const v1::PullRequest& pr, const std::string& tip, const std::string& url) {
  const int64_t number = pr.number();
  const v1::Validation& v = pr.revisions(pr.revisions_size() - 1).validation();
  // What lands: the validated merge commit, or with --squash one commit on
  // the same tip with the same (validated) tree.
  std::string landing = v.merge_commit();
  if (pr.squash()) {
    auto squashed = merger_.Squash(d_.provisioner->MirrorPath(pr.repo()), v.merge_commit(), tip,
                                   pr.title() + " (#" + std::to_string(number) + ")", pr.author(),
                                   pr.author() + "@cifs.local");
    if (!squashed.ok()) {
      Eject(pr, "left the queue: cannot squash: " + squashed.status().message());
      return;
    }
    landing = *squashed;
  }
  (void)Push({pr}, {landing}, {}, url);
}

bool MergeQueue::Push(const std::vector<v1::PullRequest>& batch, const std::vector<std::string>& landings,
                              const std::vector<std::string>& batch_builds, const std::string& url) {
  const std::string& last = landings.back();
  const v1::PullRequest& head = batch.front();
  // Unrecorded (or changed meanwhile by another node), a landing could not
  // be told apart from none after a restart: no push until every PR of the
  // batch has it recorded.
  for (size_t i = 0; i < batch.size(); ++i) {
    bool saved = SaveQueueStep(batch[i].number(), batch[i].revisions_size(), [&](v1::PullRequest& p) {
      p.set_landing_commit(landings[i]);
      p.set_batch_tip(last);
      p.set_batch_build_id(batch_builds.empty() ? "" : batch_builds.back());
    });
    if (!saved) return false;
  }
  Status pushed = d_.host->Push(d_.provisioner->MirrorPath(head.repo()), url, last, head.target_branch(), /*force=*/false);
  if (!pushed.ok()) {
    std::string why = pushed.code() == Status::Code::kFailedPrecondition
                          ? pushed.message()  // the tip moved meanwhile: the next round tries again
                          : "cannot push: " + pushed.message();
    for (const auto& pr : batch) {
      SaveQueueStep(pr.number(), pr.revisions_size(), [&](v1::PullRequest& p) {
        p.clear_batch_tip();
        p.clear_landing_commit();
        p.set_queue_note(why);
      });
    }
    return false;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<std::string> trusted = batch_builds;
    trusted.push_back(batch[i].revisions(batch[i].revisions_size() - 1).validation().build_id());
    TrustLanded(batch[i], trusted, last);
    RecordMerged(batch[i].number(), landings[i]);
    log_->Info("pr_merged", {{"number", batch[i].number()},
                             {"commit", landings[i]},
                             {"target", head.target_branch()},
                             {"batch", static_cast<int64_t>(batch.size())}});
  }
  Kick();  // the next batch of this target can go at once
  return true;
}

void MergeQueue::LandBatch(const std::string& key, std::vector<v1::PullRequest> batch, const std::string& tip,
                                   const std::string& url) {
  auto& lane_state = targets_[key];
  const std::string repo = batch[0].repo();
  const std::string target = batch[0].target_branch();
  const std::string mirror = d_.provisioner->MirrorPath(repo);
  if (Status s = d_.provisioner->Refresh(repo); !s.ok()) {
    lane_state.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    return;
  }
  // A PR whose branch is gone upstream was withdrawn: it does not land.
  std::erase_if(batch, [&](const v1::PullRequest& pr) {
    auto head = d_.host->BranchTip(url, pr.branch());
    if (head.ok() || head.status().code() != Status::Code::kNotFound) return false;
    Eject(pr, "left the queue: the pull request's branch " + pr.branch() +
                  " was deleted upstream; submit again to push it");
    return true;
  });
  if (batch.empty()) return;
  // The chain: each PR merged on top of those ahead of it, on the tip.
  std::vector<std::string> landings;
  std::string prev = tip;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& pr = batch[i];
    const auto& rev = pr.revisions(pr.revisions_size() - 1);
    auto m = merger_.MergeOnto(mirror, prev, rev.head_commit(),
                               "Merge pull request #" + std::to_string(pr.number()) + ": " + pr.title(),
                               "refs/cifs/batch/" + std::to_string(pr.number()));
    std::string failure;
    if (!m.ok()) {
      failure = m.status().message();
    } else if (!m->conflicts.empty()) {
      failure = "it conflicts with " + target + (i ? " and the PRs ahead of it" : "") + " in " + m->conflicts[0];
    }
    if (!failure.empty()) {
      if (i == 0) {
        Eject(pr, "left the queue: " + failure);
        return;
      }
      batch.resize(i);  // it waits for those ahead of it to land
      break;
    }
    std::string landing = m->merge_commit;
    if (pr.squash()) {
      auto squashed = merger_.Squash(mirror, m->merge_commit, prev,
                                     pr.title() + " (#" + std::to_string(pr.number()) + ")", pr.author(),
                                     pr.author() + "@cifs.local");
      if (!squashed.ok()) {
        Eject(pr, "left the queue: cannot squash: " + squashed.status().message());
        return;
      }
      landing = *squashed;
    }
    landings.push_back(landing);
    prev = landing;
  }
  std::string names;
  BatchJob job;
  job.repo = repo;
  job.commit = prev;
  for (const auto& pr : batch) {
    names += (names.empty() ? "#" : ", #") + std::to_string(pr.number());
    job.also_read.push_back(ValidationTier(pr.revisions(pr.revisions_size() - 1).validation().build_id()));
  }
  const std::string testing = batch.size() == 1 ? "testing on " + target + " " + tip.substr(0, 12)
                                                : "testing with " + names + " on " + target + " " + tip.substr(0, 12);
  for (const auto& pr : batch) {
    SaveQueueStep(pr.number(), pr.revisions_size(), [&](v1::PullRequest& p) { p.set_queue_note(testing); });
  }
  log_->Info("batch_testing", {{"target", target}, {"prs", names}, {"commit", prev}});
  auto pending = d_.validator->TestBatch(std::move(job));
  while (pending.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  BatchOutcome outcome = pending.get();
  if (!outcome.error.ok()) {
    for (const auto& pr : batch) {
      SaveQueueStep(pr.number(), pr.revisions_size(), [&](v1::PullRequest& p) {
        p.set_queue_note("the batch test could not run: " + outcome.error.message());
      });
    }
    lane_state.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    return;
  }
  if (outcome.passed) {
    lane_state.window = 0;
    if (!outcome.flaky.empty()) {
      for (const auto& pr : batch) {
        SaveQueueStep(pr.number(), pr.revisions_size(), [&](v1::PullRequest& p) {
          for (const auto& t : outcome.flaky) p.add_flaky_targets(t);
        });
      }
      log_->Warn("flaky_targets", {{"target", target}, {"prs", names}, {"targets", Join(outcome.flaky)}});
    }
    (void)Push(batch, landings, outcome.build_ids, url);
    return;
  }
  for (const auto& id : outcome.build_ids) {
    if (Status s = d_.ac->DropTier(ValidationTier(id)); !s.ok()) {
      log_->Warn("validation_cache_not_dropped", {{"build", id}, {"error", s.message()}});
    }
  }
  std::vector<Footprint> footprints;
  for (const auto& pr : batch) footprints.push_back(FootprintOf(pr));
  BatchVerdict verdict = JudgeFailure(footprints, outcome.failed);
  const std::string build = outcome.build_ids.back();
  for (size_t i : verdict.eject) {
    std::vector<std::string> its;
    for (const auto& t : outcome.failed) {
      if (batch.size() == 1 || footprints[i].everything ||
          std::binary_search(footprints[i].targets.begin(), footprints[i].targets.end(), t)) {
        its.push_back(t);
      }
    }
    std::string on = i == 0 ? target + " " + tip.substr(0, 12) : "top of the PRs ahead of it on " + target;
    Eject(batch[i], "ejected: " + (its.empty() ? std::string("the test") : Join(its)) + " failed on " + on +
                        " (build " + build + ")");
  }
  if (verdict.eject.empty()) {
    lane_state.window = verdict.shrink_to;
    std::string why = "the batch " + names + " failed on " + Join(verdict.unattributed) +
                      ", which no one PR explains; testing the first " + std::to_string(verdict.shrink_to) +
                      " without the rest";
    for (const auto& pr : batch) {
      SaveQueueStep(pr.number(), pr.revisions_size(), [&](v1::PullRequest& p) { p.set_queue_note(why); });
    }
    log_->Info("batch_split", {{"target", target}, {"prs", names}, {"window", static_cast<int64_t>(verdict.shrink_to)}});
  }
  Kick();
}

void MergeQueue::Eject(const v1::PullRequest& pr, const std::string& why) {
  if (ApplyQueueStep(pr.number(), pr.revisions_size(), [&](v1::PullRequest& p) {
        p.set_queue_note(why);
        return TransitionPr(p, PrEvent::kEject);
      })) {
    log_->Info("pr_ejected", {{"number", pr.number()}, {"why", why}});
  }
}

std::string MergeQueue::Join(const std::vector<std::string>& items) {
  constexpr size_t kShown = 5;
  std::string out;
  for (size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kShown) out += " and " + std::to_string(items.size() - kShown) + " more";
  return out.empty() ? "(none named)" : out;
}

void MergeQueue::RecordMerged(int64_t number, const std::string& commit) {
  // It is on the target whatever else happened to the record: no precondition.
  auto merged = MutatePullRequest(d_.prs, number, [&](v1::PullRequest& p) {
    p.set_merged_commit(commit);
    p.set_merged_ms(NowMs());
    (void)TransitionPr(p, PrEvent::kLand);  // from any state
    p.set_queue_note("");
    p.set_updated_ms(NowMs());
    return Status::Ok();
  });
  if (!merged.ok()) {
    // The queue finds it again (state queued) and reconciles it from the tip.
    log_->Warn("pr_not_saved", {{"number", number}, {"state", "merged"}, {"error", merged.status().message()}});
  }
}

bool MergeQueue::SaveQueueStep(int64_t number, int revision,
                                       const std::function<void(v1::PullRequest&)>& change) {
  return ApplyQueueStep(number, revision, [&](v1::PullRequest& p) {
    change(p);
    return Status::Ok();
  });
}

bool MergeQueue::ApplyQueueStep(int64_t number, int revision,
                                        const std::function<Status(v1::PullRequest&)>& change) {
  auto saved = MutatePullRequest(d_.prs, number, [&](v1::PullRequest& p) -> Status {
    if (p.state() != PrStateName(PrState::kQueued) || p.revisions_size() != revision) {
      return Status::Aborted("#" + std::to_string(number) + " changed meanwhile: " + p.state() + ", revision " +
                             std::to_string(p.revisions_size()));
    }
    p.set_updated_ms(NowMs());
    return change(p);
  });
  if (!saved.ok()) {
    log_->Warn("pr_not_saved", {{"number", number}, {"error", saved.status().message()}});
    return false;
  }
  return true;
}

}  // namespace cifs
