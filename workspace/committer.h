// Turns what a developer did in a workspace into a commit, as `git add -A &&
// git commit` would (.gitignore respected), for a pull request.
#pragma once

#include <string>
#include <vector>

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

// A change CommitAll would commit.
struct PendingChange {
  std::string path;
  std::string kind;  // "added", "modified" or "deleted"
};

struct PendingCommit {
  std::vector<PendingChange> changes;
  // Bazel's convenience symlinks at the root (bazel-bin, bazel-out,
  // bazel-testlogs, bazel-NAME): they point into one machine's output base,
  // so they are never committed, whatever the repository ignores.
  std::vector<std::string> left_out;
};

class Committer {
 public:
  // What CommitAll would commit at `path`, and what it leaves out.
  Result<PendingCommit> Preview(const std::string& path);

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
