// The proposed merge of a pull request, made on the farm and never in the
// developer's workspace: the PR's head merged into the target's tip, in the
// repository's mirror, and a clean checkout of it to build.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "workspace/git.h"

namespace cifs {

struct ProposedMerge {
  std::string target_tip;
  std::string merge_commit;            // empty when it conflicts
  std::vector<std::string> conflicts;  // paths
};

// A path that differs between two commits (a rename is a deletion and an
// addition).
struct TreeChange {
  enum class Kind { kAdded, kDeleted, kModified };
  std::string path;
  Kind kind = Kind::kModified;
};

class Merger {
 public:
  // Merges `head` into `target` of the bare mirror at `mirror`. The merge
  // commit is kept alive under `keep_ref` (refs/cifs/...), on no branch.
  Result<ProposedMerge> Merge(const std::string& mirror, const std::string& target, const std::string& head,
                              const std::string& message, const std::string& keep_ref);

  // The same with `head` merged into the commit `base` (a chain of merges:
  // the merge queue stacks PRs on one another).
  Result<ProposedMerge> MergeOnto(const std::string& mirror, const std::string& base, const std::string& head,
                                  const std::string& message, const std::string& keep_ref);

  // Whether `ancestor` is `commit` or one of its ancestors.
  Result<bool> Contains(const std::string& mirror, const std::string& commit, const std::string& ancestor);

  // The paths that differ between the trees of two commits.
  Result<std::vector<TreeChange>> Diff(const std::string& mirror, const std::string& from, const std::string& to);

  // The directories of `commit` holding a BUILD or BUILD.bazel file (Bazel
  // packages; "" is the root).
  Result<std::set<std::string>> PackageDirs(const std::string& mirror, const std::string& commit);

  // One commit on `parent` (the target's tip) with the tree of the validated
  // `merge` commit, authored by `author`.
  Result<std::string> Squash(const std::string& mirror, const std::string& merge, const std::string& parent,
                             const std::string& message, const std::string& author, const std::string& email);

  // Makes `dir` a clean checkout of `commit` (objects borrowed from the
  // mirror): every tracked file as committed, nothing else.
  Status Checkout(const std::string& mirror, const std::string& dir, const std::string& commit);

 private:
  Result<ProposedMerge> MergeOnto(git_repository* repo, const git_oid& base, const std::string& head,
                                  const std::string& message, const std::string& keep_ref);

  git::Library library_;
};

}  // namespace cifs
