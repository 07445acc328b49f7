// Turns what a developer did in a workspace into a commit, as `git add -A &&
// git commit` would (.gitignore respected), for a pull request.
#pragma once

#include <string>

#include "common/status.h"
#include "workspace/git.h"

namespace cifs {

struct Author {
  std::string name;
  std::string email;
};

struct WorkspaceHead {
  std::string commit;     // HEAD after the call
  bool committed = false; // a new commit was made for uncommitted changes
  std::string branch;     // the checked-out branch
};

class Committer {
 public:
  // Commits every change in the working copy at `path` on its current
  // branch; with nothing to commit, HEAD is returned as it is.
  Result<WorkspaceHead> CommitAll(const std::string& path, const Author& author, const std::string& message);

  // Whether `commit` is already part of `ref` (equal to it or an ancestor)
  // in the repository at `path` (a working copy or a bare mirror).
  Result<bool> Contains(const std::string& path, const std::string& ref, const std::string& commit);

 private:
  git::Library library_;
};

}  // namespace cifs
