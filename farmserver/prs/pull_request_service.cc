#include "farmserver/prs/pull_request_service.h"
#include "farmserver/prs/pr_records.h"

#include "farmserver/fs/placement.h"

#include <algorithm>

#include "common/clock.h"
#include "common/grpc_status.h"

namespace cifs {

namespace {

constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxMessage = 4000;
constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 1000;  // 1,000 PRs stay well under gRPC's 4 MiB

bool InReview(const v1::PullRequest& pr) {
  auto s = ParsePrState(pr.state());
  return s && InReview(*s);
}

template <typename T>
grpc::Status Answer(Result<T> r, T* resp) {
  if (!r.ok()) return ToGrpc(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

}  // namespace

PullRequestService::PullRequestService(const MetadataStores& metadata, std::string node, Authenticator* auth, Provisioner* provisioner,
                                       GitHost* host, BuildRunner* runner, ActionCache* ac,
                                       const std::string& state_dir, Logger* log, size_t max_batch)
    : node_(std::move(node)),
      prs_(metadata.pull_requests),
      workspaces_(metadata.workspaces),
      repos_(metadata.repos),
      auth_(auth),
      provisioner_(provisioner),
      host_(host),
      ac_(ac),
      log_(log),
      diffs_(provisioner),
      validator_(state_dir, provisioner, runner, metadata.builds, metadata.repos, host, ac,
                 [this](int64_t n, int32_t r, const v1::Validation& v) { return RecordValidation(n, r, v); }, log),
      queue_({metadata.pull_requests, metadata.repos, host, provisioner, ac, &validator_}, node_, max_batch, log) {
  queue_.Start();
}

void PullRequestService::Stop() {
  queue_.Stop();  // first: it waits on the validator
  validator_.Stop();
}

Result<v1::PullRequest> PullRequestService::Mutate(int64_t number,
                                                   const std::function<Status(v1::PullRequest&)>& change) {
  return MutatePullRequest(prs_, number, change);
}

Status PullRequestService::RecordValidation(int64_t number, int32_t revision, const v1::Validation& v) {
  bool auto_queued = false;
  auto pr = Mutate(number, [&](v1::PullRequest& pr) -> Status {
    if (pr.revisions_size() != revision) {
      return Status::FailedPrecondition("revision " + std::to_string(revision) + " is no longer the latest");
    }
    *pr.mutable_revisions(revision - 1)->mutable_validation() = v;
    pr.mutable_revisions(revision - 1)->mutable_validation()->set_node(node_);
    pr.set_updated_ms(NowMs());
    auto_queued = Green(v.state()) && v.auto_merge() && pr.state() == PrStateName(PrState::kApproved);
    if (auto_queued) return MarkQueued(pr, "auto-merge");
    return Status::Ok();
  });
  if (!pr.ok()) return pr.status();
  if (auto_queued) Queued(*pr);
  if (pr->state() == PrStateName(PrState::kQueued) && !Undecided(v.state())) queue_.Kick();
  return Status::Ok();
}

void PullRequestService::Validate(const v1::PullRequest& pr) {
  const auto& rev = pr.revisions(pr.revisions_size() - 1);
  validator_.Enqueue({pr.number(), pr.branch(), rev.number(), rev.head_commit(), pr.repo(), pr.target_branch(),
                      pr.author(), pr.title()});
}

Status PullRequestService::ResumeValidations() {
  v1::ListPullRequestsRequest filter;
  filter.set_in_review(true);
  auto all = prs_->ListPullRequests(filter);
  if (!all.ok()) return all.status();
  // Oldest first, as they were asked for.
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    if (!InReview(*it) || it->revisions().empty() || !Mine(*it)) continue;
    const std::string& state = it->revisions(it->revisions_size() - 1).validation().state();
    if (Undecided(state)) Validate(*it);
  }
  return Status::Ok();
}

void PullRequestService::TakeOver(const std::vector<int64_t>& numbers) {
  for (int64_t number : numbers) {
    auto found = prs_->GetPullRequest(number);
    if (!found.ok() || !found->has_value() || (*found)->revisions().empty()) continue;
    const v1::PullRequest& pr = **found;
    const std::string& state = pr.revisions(pr.revisions_size() - 1).validation().state();
    // A validation the dead node was running is lost with it.
    if (InReview(pr) && Undecided(state)) Validate(pr);
    log_->Info("pr_taken_over", {{"number", number}, {"validation", state}, {"state", pr.state()}});
  }
  queue_.Kick();
}

Result<std::optional<v1::PullRequest>> PullRequestService::OpenFrom(const std::string& workspace) {
  v1::ListPullRequestsRequest filter;
  filter.set_workspace(workspace);
  filter.set_in_review(true);
  auto all = prs_->ListPullRequests(filter);
  if (!all.ok()) return all.status();
  for (auto& pr : *all) {
    if (InReview(pr)) return std::optional<v1::PullRequest>(std::move(pr));
  }
  return std::optional<v1::PullRequest>();
}

Result<v1::Workspace> PullRequestService::SubmittersWorkspace(const Identity& who, const std::string& name) {
  auto ws = workspaces_->GetWorkspace(name);
  if (!ws.ok()) return ws.status();
  if (!ws->has_value()) return Status::NotFound("no workspace '" + name + "'");
  if ((*ws)->owner() != who.name) {
    return Status::PermissionDenied("workspace '" + name + "' belongs to " + (*ws)->owner());
  }
  CIFS_RETURN_IF_ERROR(CheckOnThisNode(**ws, node_));  // the farm-side copy is committed here
  return **ws;
}

grpc::Status PullRequestService::PreviewSubmit(grpc::ServerContext* ctx, const v1::SubmitRequest* req,
                                               v1::SubmitPreview* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto ws = SubmittersWorkspace(*id, req->workspace());
  if (!ws.ok()) return ToGrpc(ws.status());
  auto pending = committer_.Preview(provisioner_->WorkspacePath(req->workspace()));
  if (!pending.ok()) return ToGrpc(pending.status());
  for (const auto& c : pending->changes) {
    auto* out = resp->add_changes();
    out->set_path(c.path);
    out->set_kind(c.kind);
  }
  for (const auto& l : pending->left_out) resp->add_left_out(l);
  auto open = OpenFrom(req->workspace());
  if (!open.ok()) return ToGrpc(open.status());
  if (open->has_value()) {
    resp->set_open_pull_request((*open)->number());
    resp->set_target_branch((*open)->target_branch());
  } else {
    resp->set_target_branch(req->target_branch().empty() ? ws->branch() : req->target_branch());
  }
  return grpc::Status::OK;
}

Result<v1::PullRequest> PullRequestService::DoSubmit(const Identity& who, const v1::SubmitRequest& req) {
  auto ws = SubmittersWorkspace(who, req.workspace());
  if (!ws.ok()) return ws.status();
  if (req.title().size() > kMaxTitle) return Status::InvalidArgument("a title is at most 200 characters");
  auto repo = repos_->GetRepo(ws->repo());
  if (!repo.ok()) return repo.status();
  if (!repo->has_value()) return Status::NotFound("the workspace's repository is gone");

  std::lock_guard lock(submit_mu_);
  auto existing = OpenFrom(req.workspace());
  if (!existing.ok()) return existing.status();
  v1::PullRequest pr;
  if (existing->has_value()) {
    pr = **existing;
    if (!req.target_branch().empty() && req.target_branch() != pr.target_branch()) {
      return Status::FailedPrecondition("pull request #" + std::to_string(pr.number()) + " from this workspace targets " +
                                        pr.target_branch() + "; its revisions keep that target");
    }
  } else {
    if (req.title().empty()) return Status::InvalidArgument("a new pull request needs a title (-m TITLE)");
    pr.set_title(req.title());
    pr.set_author(who.name);
    pr.set_workspace(req.workspace());
    pr.set_node(node_);
    pr.set_repo(ws->repo());
    pr.set_target_branch(req.target_branch().empty() ? ws->branch() : req.target_branch());
  }
  CIFS_RETURN_IF_ERROR(ValidateBranchName(pr.target_branch()));
  auto target_tip = host_->BranchTip((*repo)->url(), pr.target_branch());
  if (!target_tip.ok()) {
    if (target_tip.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("unknown target branch '" + pr.target_branch() + "' in " + (*repo)->url());
    }
    return target_tip.status();
  }

  const std::string path = provisioner_->WorkspacePath(req.workspace());
  std::string message = req.title().empty() ? pr.title() : req.title();
  auto head = committer_.CommitAll(path, {who.name, who.name + "@cifs.local"}, message);
  if (!head.ok()) return head.status();
  // Already on the target: as the workspace last saw it, or as the upstream
  // has it now (the mirror, just fetched; it knows the commit once a PR of it
  // was pushed).
  auto merged = committer_.Contains(path, "refs/remotes/origin/" + pr.target_branch(), head->commit);
  if (!merged.ok()) return merged.status();
  if (!*merged && provisioner_->Refresh(pr.repo()).ok()) {
    auto upstream = committer_.Contains(provisioner_->MirrorPath(pr.repo()), "refs/heads/" + pr.target_branch(),
                                        head->commit);
    if (upstream.ok()) merged = upstream;
  }
  if (*merged) {
    return Status::FailedPrecondition("nothing to submit: the workspace has no changes beyond " + pr.target_branch());
  }
  if (pr.revisions_size() > 0 && pr.revisions(pr.revisions_size() - 1).head_commit() == head->commit) {
    return Status::FailedPrecondition("nothing new to submit since revision " +
                                      std::to_string(pr.revisions_size()) + " of #" + std::to_string(pr.number()));
  }

  int64_t now = NowMs();
  bool created = pr.number() == 0;
  if (created) {
    pr.set_state(std::string(PrStateName(PrState::kOpen)));
    pr.set_created_ms(now);
    pr.set_updated_ms(now);
    CIFS_RETURN_IF_ERROR(prs_->InsertPullRequest(&pr));
  }
  const std::string branch = "cifs/pr/" + std::to_string(pr.number());
  Status pushed = host_->Push(path, (*repo)->url(), head->commit, branch, /*force=*/true);
  if (!pushed.ok()) {
    if (created) {
      auto closed = Mutate(pr.number(), [&](v1::PullRequest& fresh) { return TransitionPr(fresh, PrEvent::kWithdraw); });
      if (!closed.ok()) log_->Warn("pr_not_saved", {{"number", pr.number()}, {"error", closed.status().message()}});
    }
    return pushed;
  }
  // A new revision starts over: earlier approvals and validations were of
  // other code. Added to the record as it is now (a lead may have reviewed
  // it on another node meanwhile).
  auto stored = Mutate(pr.number(), [&](v1::PullRequest& fresh) -> Status {
    if (!created && !InReview(fresh)) {
      return Status::FailedPrecondition("pull request #" + std::to_string(fresh.number()) + " was " + fresh.state() +
                                        " meanwhile; submit again for a new one");
    }
    fresh.set_branch(branch);
    auto* rev = fresh.add_revisions();
    rev->set_number(fresh.revisions_size());
    rev->set_head_commit(head->commit);
    rev->set_created_ms(now);
    rev->mutable_validation()->set_state(std::string(ValidationStateName(ValidationState::kPending)));
    rev->mutable_validation()->set_updated_ms(now);
    fresh.set_updated_ms(now);
    return TransitionPr(fresh, PrEvent::kRevise);
  });
  if (!stored.ok()) return stored.status();
  Validate(*stored);
  log_->Info("pr_submitted", {{"number", stored->number()},
                              {"revision", stored->revisions_size()},
                              {"author", who.name},
                              {"head", head->commit},
                              {"target", stored->target_branch()}});
  return stored;
}

Result<v1::PullRequest> PullRequestService::Load(int64_t number) {
  auto pr = prs_->GetPullRequest(number);
  if (!pr.ok()) return pr.status();
  if (!pr->has_value()) return Status::NotFound("no pull request #" + std::to_string(number));
  return std::move(**pr);
}

Result<v1::PullRequest> PullRequestService::Review(const Identity& who, const v1::ReviewRequest& req,
                                                   Verdict verdict) {
  const bool approve = verdict == Verdict::kApprove;
  const char* decision = approve ? "approved" : verdict == Verdict::kReject ? "rejected" : "commented";
  if (verdict != Verdict::kNone && !RoleAtLeast(who.role, Role::kLead)) {
    return Status::PermissionDenied("only a lead or an admin may " + std::string(approve ? "approve" : "reject") +
                                    " a pull request; " + who.name + " is a " + RoleName(who.role));
  }
  if (verdict == Verdict::kReject && req.message().empty()) {
    return Status::InvalidArgument("a rejection needs a reason (-m WHY)");
  }
  if (verdict == Verdict::kNone && req.message().empty() && req.comments().empty()) {
    return Status::InvalidArgument("a comment needs a message (-m TEXT) or a line comment");
  }
  if (req.message().size() > kMaxMessage) return Status::InvalidArgument("a review message is at most 4000 characters");
  if (req.comments_size() > 100) return Status::InvalidArgument("at most 100 line comments per review");
  // Line comments are checked against the mirror before the record is
  // touched (no git under a compare-and-set retry).
  std::vector<v1::LineComment> comments(req.comments().begin(), req.comments().end());
  int32_t anchored_on = 0;
  if (!comments.empty()) {
    auto current = Load(req.number());
    if (!current.ok()) return current.status();
    CIFS_RETURN_IF_ERROR(diffs_.Anchor(*current, &comments));
    anchored_on = current->revisions_size();
  }
  bool auto_queued = false;
  auto pr = Mutate(req.number(), [&](v1::PullRequest& pr) -> Status {
    if (approve && pr.author() == who.name) return Status::PermissionDenied("you cannot approve your own pull request");
    if (verdict != Verdict::kNone && !InReview(pr)) {
      return Status::FailedPrecondition("pull request #" + std::to_string(pr.number()) + " is " + pr.state());
    }
    if (anchored_on != 0 && pr.revisions_size() != anchored_on) {
      return Status::Aborted("revision " + std::to_string(pr.revisions_size()) +
                             " came in while you commented; read its diff and comment again");
    }
    auto* review = pr.add_reviews();
    review->set_user(who.name);
    review->set_decision(decision);
    review->set_message(req.message());
    review->set_at_ms(NowMs());
    review->set_revision(pr.revisions_size());
    for (const auto& c : comments) *review->add_comments() = c;
    pr.set_updated_ms(review->at_ms());
    if (verdict == Verdict::kNone) return Status::Ok();
    // Approving a queued PR keeps it queued; rejecting takes it out.
    const bool was_queued = pr.state() == PrStateName(PrState::kQueued);
    CIFS_RETURN_IF_ERROR(TransitionPr(pr, approve ? PrEvent::kApprove : PrEvent::kReject));
    const auto& latest = pr.revisions(pr.revisions_size() - 1).validation();
    auto_queued = approve && !was_queued && Green(latest.state()) && latest.auto_merge();
    if (auto_queued) return MarkQueued(pr, "auto-merge");
    return Status::Ok();
  });
  if (!pr.ok()) return pr.status();
  if (auto_queued) Queued(*pr);
  log_->Info("pr_reviewed", {{"number", pr->number()},
                             {"by", who.name},
                             {"decision", decision},
                             {"line_comments", static_cast<int64_t>(comments.size())}});
  return pr;
}

grpc::Status PullRequestService::Submit(grpc::ServerContext* ctx, const v1::SubmitRequest* req,
                                        v1::PullRequest* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  return Answer(DoSubmit(*id, *req), resp);
}

grpc::Status PullRequestService::List(grpc::ServerContext* ctx, const v1::ListPullRequestsRequest* req,
                                      v1::ListPullRequestsResponse* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  if (req->limit() < 0 || req->before() < 0) {
    return ToGrpc(Status::InvalidArgument("limit and before must not be negative"));
  }
  v1::ListPullRequestsRequest page = *req;
  page.set_limit(std::min(req->limit() > 0 ? req->limit() : kDefaultListLimit, kMaxListLimit) + 1);
  auto all = prs_->ListPullRequests(page);
  if (!all.ok()) return ToGrpc(all.status());
  // One more than asked for tells whether another page follows.
  if (static_cast<int>(all->size()) >= page.limit()) {
    all->pop_back();
    resp->set_next_before(all->back().number());
  }
  queue_.SetPositions(*all);
  for (auto& pr : *all) *resp->add_pull_requests() = std::move(pr);
  return grpc::Status::OK;
}

grpc::Status PullRequestService::Get(grpc::ServerContext* ctx, const v1::GetPullRequestRequest* req,
                                     v1::PullRequest* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto pr = Load(req->number());
  if (!pr.ok()) return ToGrpc(pr.status());
  diffs_.MarkOutdated(&*pr);
  std::vector<v1::PullRequest> one = {std::move(*pr)};
  queue_.SetPositions(one);
  *resp = std::move(one[0]);
  return grpc::Status::OK;
}

grpc::Status PullRequestService::GetDiff(grpc::ServerContext* ctx, const v1::GetDiffRequest* req,
                                         v1::PullRequestDiff* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  auto pr = Load(req->number());
  if (!pr.ok()) return ToGrpc(pr.status());
  return Answer(diffs_.Diff(*pr, *req), resp);
}

grpc::Status PullRequestService::Comment(grpc::ServerContext* ctx, const v1::ReviewRequest* req,
                                         v1::PullRequest* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  return Answer(Review(*id, *req, Verdict::kNone), resp);
}

grpc::Status PullRequestService::Approve(grpc::ServerContext* ctx, const v1::ReviewRequest* req,
                                         v1::PullRequest* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  return Answer(Review(*id, *req, Verdict::kApprove), resp);
}

grpc::Status PullRequestService::Reject(grpc::ServerContext* ctx, const v1::ReviewRequest* req,
                                        v1::PullRequest* resp) {
  auto id = auth_->FromContext(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  return Answer(Review(*id, *req, Verdict::kReject), resp);
}

void PullRequestService::Queued(const v1::PullRequest& pr) {
  log_->Info("pr_queued", {{"number", pr.number()}, {"by", pr.merge_requested_by()}, {"target", pr.target_branch()}});
  queue_.Kick();
}

Result<v1::PullRequest> PullRequestService::DoMerge(const Identity& who, int64_t number, bool squash) {
  std::optional<v1::PullRequest> already;  // queued before: nothing to write
  auto pr = Mutate(number, [&](v1::PullRequest& pr) -> Status {
    if (pr.author() != who.name && !RoleAtLeast(who.role, Role::kLead)) {
      return Status::PermissionDenied("only the author, a lead or an admin may merge #" + std::to_string(number));
    }
    if (pr.state() == PrStateName(PrState::kQueued)) {
      already = pr;
      return Status::AlreadyExists("queued");
    }
    if (pr.state() != PrStateName(PrState::kApproved)) {
      return Status::FailedPrecondition("#" + std::to_string(number) + " is " + pr.state() +
                                        (pr.state() == PrStateName(PrState::kOpen) ? ", not approved" : ""));
    }
    const auto& rev = pr.revisions(pr.revisions_size() - 1);
    if (!Green(rev)) {
      return Status::FailedPrecondition("#" + std::to_string(number) + " revision " + std::to_string(rev.number()) +
                                        " is not green: validation " + rev.validation().state());
    }
    pr.set_squash(squash);
    return MarkQueued(pr, who.name);
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
  queue_.SetPositions(one);
  *resp = std::move(one[0]);
  return grpc::Status::OK;
}

}  // namespace cifs
