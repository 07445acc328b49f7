// RAII for libgit2: owned pointers, library lifetime and error text.
#pragma once

#include <git2.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace cifs::git {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using Repository = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using Remote = std::unique_ptr<git_remote, Deleter<git_remote, git_remote_free>>;
using Reference = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;
using Commit = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using Config = std::unique_ptr<git_config, Deleter<git_config, git_config_free>>;
using Tree = std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>>;

// libgit2 must be initialised while in use; one of these per user of it.
class Library {
 public:
  Library() { git_libgit2_init(); }
  ~Library() { git_libgit2_shutdown(); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
};

// The last libgit2 error as a Status with `what` in front.
Status Error(const std::string& what);

// A repository's bare mirror on the farm.
Result<Repository> OpenMirror(const std::string& mirror);
// The commit `oid`; `what` names it in the error.
Result<Commit> LookUp(git_repository* repo, const git_oid& oid, const std::string& what);
// The tree of `commit` (hex id).
Result<Tree> TreeOf(git_repository* repo, const std::string& commit);
std::string Hex(const git_oid& oid);

}  // namespace cifs::git
