// Writing a pull request's record: compare-and-set against other writers
// (another thread, another node) and the state machine's rules.
#pragma once

#include <functional>
#include <string>

#include "cifs/v1/pr.pb.h"
#include "common/status.h"
#include "farmserver/prs/pr_state.h"
#include "farmserver/prs/validation_state.h"
#include "metadata/metadata_store.h"

namespace cifs {

// Reads #number, applies `change` and writes it. When another writer came
// first (ABORTED), `change` runs again on the fresh copy, so neither write
// is lost. A change that fails writes nothing.
[[nodiscard]] Result<v1::PullRequest> MutatePullRequest(PullRequestStore* prs, int64_t number,
                                                        const std::function<Status(v1::PullRequest&)>& change);

// Moves `pr` by `event` (pr_state.h); FailedPrecondition, naming both, when
// the event cannot happen in its state.
[[nodiscard]] Status TransitionPr(v1::PullRequest& pr, PrEvent event);

// Puts an approved `pr` in its target's queue, asked for by `by`.
[[nodiscard]] Status MarkQueued(v1::PullRequest& pr, const std::string& by);

inline bool Green(const v1::Revision& rev) { return Green(rev.validation().state()); }

}  // namespace cifs
