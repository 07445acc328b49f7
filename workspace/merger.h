// The proposed merge of a pull request, made on the farm and never in the
// developer's workspace: the PR's head merged into the target's tip, in the
// repository's mirror, and a clean checkout of it to build.
#pragma once

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

class Merger {
 public:
  // Merges `head` into `target` of the bare mirror at `mirror`. The merge
  // commit is kept alive under `keep_ref` (refs/cifs/...), on no branch.
  Result<ProposedMerge> Merge(const std::string& mirror, const std::string& target, const std::string& head,
                              const std::string& message, const std::string& keep_ref);

  // One commit on `parent` (the target's tip) with the tree of the validated
  // `merge` commit, authored by `author`.
  Result<std::string> Squash(const std::string& mirror, const std::string& merge, const std::string& parent,
                             const std::string& message, const std::string& author, const std::string& email);

  // Makes `dir` a clean checkout of `commit` (objects borrowed from the
  // mirror): every tracked file as committed, nothing else.
  Status Checkout(const std::string& mirror, const std::string& dir, const std::string& commit);

 private:
  git::Library library_;
};

}  // namespace cifs
