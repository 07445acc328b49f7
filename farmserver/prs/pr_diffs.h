// What reviewers read: a PR revision's changes as a diff, and line comments
// anchored to the lines they were made on. Reads the repository's mirror on
// this node, fetching it once when a commit is not there yet (the PR was
// submitted or validated on another node, or a moment ago).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cifs/v1/pr.pb.h"
#include "common/status.h"
#include "workspace/patches.h"
#include "workspace/provisioner.h"

namespace cifs {

class PrDiffs {
 public:
  explicit PrDiffs(Provisioner* provisioner, PatchLimits limits = {}) : provisioner_(provisioner), limits_(limits) {}

  Result<v1::PullRequestDiff> Diff(const v1::PullRequest& pr, const v1::GetDiffRequest& req);
  // Checks `comments` (paths and lines of the latest revision's diff) and
  // records in each the commit it counts in and the line's text.
  Status Anchor(const v1::PullRequest& pr, std::vector<v1::LineComment>* comments);
  // Marks the line comments whose line the latest revision changed or
  // removed. Computed when read, never stored: a comment is not rewritten.
  void MarkOutdated(v1::PullRequest* pr);

 private:
  struct Sides {
    std::string from, to, basis;
  };
  // What revision `rev` (1-based) is compared with: see GetDiff.
  Result<Sides> SidesOf(const v1::PullRequest& pr, int rev, int since);
  // Runs `read` on the mirror; if it fails, fetches the mirror and runs it
  // once more.
  template <typename T>
  Result<T> WithMirror(const v1::PullRequest& pr, const std::function<Result<T>(const std::string&)>& read);

  Provisioner* provisioner_;
  PatchLimits limits_;
};

}  // namespace cifs
