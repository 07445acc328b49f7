#include "farmserver/prs/pr_records.h"

#include "common/clock.h"

namespace cifs {

Result<v1::PullRequest> MutatePullRequest(PullRequestStore* prs, int64_t number,
                                          const std::function<Status(v1::PullRequest&)>& change) {
  // Each retry means another node wrote this very record in the meantime;
  // a handful is plenty.
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    auto found = prs->GetPullRequest(number);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::NotFound("no pull request #" + std::to_string(number));
    v1::PullRequest pr = **found;
    CIFS_RETURN_IF_ERROR(change(pr));
    Status s = prs->UpdatePullRequest(&pr);
    if (s.ok()) return pr;
    if (s.code() != Status::Code::kAborted || attempt == kAttempts) return s;
  }
}

Status TransitionPr(v1::PullRequest& pr, PrEvent event) {
  auto from = ParsePrState(pr.state());
  std::optional<PrState> to = from ? NextPrState(*from, event) : std::nullopt;
  if (!to) {
    return Status::FailedPrecondition("pull request #" + std::to_string(pr.number()) + " is " + pr.state() +
                                      ": it cannot " + std::string(PrEventName(event)));
  }
  pr.set_state(std::string(PrStateName(*to)));
  return Status::Ok();
}

Status MarkQueued(v1::PullRequest& pr, const std::string& by) {
  CIFS_RETURN_IF_ERROR(TransitionPr(pr, PrEvent::kQueue));
  pr.set_merge_requested_by(by);
  pr.set_queued_ms(NowMs());
  pr.set_queue_note("waiting to land on " + pr.target_branch());
  pr.set_updated_ms(pr.queued_ms());
  return Status::Ok();
}

}  // namespace cifs
