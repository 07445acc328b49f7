#include "workspace/git.h"

namespace cifs::git {

Status Error(const std::string& what) {
  const git_error* e = git_error_last();
  return Status::Internal(what + ": " + (e && e->message ? e->message : "unknown git error"));
}

Result<Repository> OpenMirror(const std::string& mirror) {
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, mirror.c_str()) != 0) return Error("cannot open the mirror");
  return Repository(raw);
}

Result<Commit> LookUp(git_repository* repo, const git_oid& oid, const std::string& what) {
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &oid) != 0) return Error("cannot find " + what);
  return Commit(raw);
}

Result<Tree> TreeOf(git_repository* repo, const std::string& commit) {
  git_oid oid;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0) return Status::InvalidArgument("'" + commit + "' is not a commit id");
  auto c = LookUp(repo, oid, "commit " + commit.substr(0, 12));
  if (!c.ok()) return c.status();
  git_tree* raw = nullptr;
  if (git_commit_tree(&raw, c->get()) != 0) return Error("cannot read the tree of " + commit.substr(0, 12));
  return Tree(raw);
}

std::string Hex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, &oid);
  return hex;
}

}  // namespace cifs::git
