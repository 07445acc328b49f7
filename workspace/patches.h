// What a pull request changes, as a reviewer reads it: per file the kind of
// change, line counts and the unified diff, between two commits of a
// repository's mirror. Bounded: a huge change comes back with counts for
// every file and text up to a limit, saying where it was cut.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

struct FilePatch {
  enum class Kind { kAdded, kDeleted, kModified, kRenamed };
  std::string path;      // in `to` (in `from` for a deletion)
  std::string old_path;  // a rename's path in `from`
  Kind kind = Kind::kModified;
  int additions = 0;
  int deletions = 0;
  bool binary = false;   // named, never shown
  // The hunks ("@@ -a,b +c,d @@" and lines starting ' ', '+', '-'), UTF-8:
  // bytes that are not become U+FFFD. Empty with stats only.
  std::string text;
  bool truncated = false;  // the text was cut at the per-file limit
};

struct PatchLimits {
  size_t max_file_bytes = 256 << 10;
  size_t max_total_bytes = 2 << 20;
  size_t max_blob_bytes = 16 << 20;  // larger files are shown as binary
  bool stats_only = false;
};

struct Patches {
  std::vector<FilePatch> files;
  // The total limit was reached: files after it have counts only.
  bool truncated = false;
};

// The changes from commit `from` to commit `to` (hex ids) in `mirror`.
Result<Patches> ComparePatches(const std::string& mirror, const std::string& from, const std::string& to,
                               const PatchLimits& limits);
// The best common ancestor of two commits in `mirror`.
Result<std::string> MergeBase(const std::string& mirror, const std::string& a, const std::string& b);
// The commit branch `branch` points at in `mirror`.
Result<std::string> BranchTip(const std::string& mirror, const std::string& branch);
// The content of `path` at `commit`; NotFound when it has no such file.
Result<std::string> FileAt(const std::string& mirror, const std::string& commit, const std::string& path);

}  // namespace cifs
