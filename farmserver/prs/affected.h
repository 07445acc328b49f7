// What a pull request affects, for the merge queue: which Bazel targets its
// change can reach, and when that cannot be known (a barrier that lands
// alone). Pure: the paths and packages come from git, the targets from a
// `bazel query` the validator runs in the merged tree.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace cifs {

struct ChangedPath {
  enum class Kind { kAdded, kDeleted, kModified };
  std::string path;
  Kind kind = Kind::kModified;
};

struct ChangeAnalysis {
  // A change Bazel's graph cannot see through: the PR affects everything.
  bool everything = false;
  std::string why;
  // Labels and patterns whose reverse dependencies are what the PR affects.
  std::vector<std::string> roots;
};

// `packages_before` / `packages_after`: the directories holding a BUILD or
// BUILD.bazel file in the target's tip and in the proposed merge ("" is the
// root package).
//   WORKSPACE, .bazelrc, .bazelversion, .cifs.toml, any .bzl file, a file
//   in no package, a package removed       -> everything
//   a BUILD file, a file added or deleted   -> every rule of its package
//                                              (attributes and globs change)
//   a file modified                         -> that file's label
ChangeAnalysis AnalyzeChanges(const std::vector<ChangedPath>& changed, const std::set<std::string>& packages_before,
                              const std::set<std::string>& packages_after);

// The query whose answer is the affected rule targets.
std::string AffectedQuery(const std::vector<std::string>& roots);

// The labels in `bazel query --output=label` output (other lines dropped).
std::vector<std::string> ParseQueryLabels(const std::string& output);

// Whether two PRs' changes meet: either affects everything, their affected
// targets intersect, or they change a common path (which also catches a
// textual conflict). Both lists sorted.
struct Footprint {
  bool everything = false;
  std::vector<std::string> targets;
  std::vector<std::string> paths;
};
bool Overlaps(const Footprint& a, const Footprint& b);

}  // namespace cifs
