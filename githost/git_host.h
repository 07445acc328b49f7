// Where pull requests go: the upstream repository's host. Behind this
// interface so a hosted service (a GitHub adapter that mirrors PRs and posts
// statuses) can slot in beside plain git remotes.
#pragma once

#include <string>

#include "common/status.h"

namespace cifs {

class GitHost {
 public:
  virtual ~GitHost() = default;

  // Pushes `commit` of the repository at `repo_path` to `branch` of the
  // upstream at `url`. Without `force` the upstream refuses anything but a
  // fast-forward (FailedPrecondition, saying so).
  virtual Status Push(const std::string& repo_path, const std::string& url, const std::string& commit,
                      const std::string& branch, bool force) = 0;

  // The upstream's tip of `branch`; NotFound when it has no such branch.
  virtual Result<std::string> BranchTip(const std::string& url, const std::string& branch) = 0;
};

}  // namespace cifs
