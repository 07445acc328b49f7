#include "workspace/committer.h"

#include <git2.h>
#include <sys/stat.h>

namespace cifs {

namespace {

using Index = std::unique_ptr<git_index, git::Deleter<git_index, git_index_free>>;
using Tree = std::unique_ptr<git_tree, git::Deleter<git_tree, git_tree_free>>;
using Signature = std::unique_ptr<git_signature, git::Deleter<git_signature, git_signature_free>>;

std::string Hex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, &oid);
  return hex;
}

// Bazel makes these at a workspace's root, pointing at its output base.
bool IsBazelConvenienceLink(const char* workdir, const char* path) {
  std::string_view p(path);
  if (p.rfind("bazel-", 0) != 0 || p.find('/') != std::string_view::npos) return false;
  struct stat st;
  return ::lstat((std::string(workdir) + p.data()).c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// git_index_add_all's filter: > 0 skips the path.
int SkipBazelLinks(const char* path, const char*, void* payload) {
  return IsBazelConvenienceLink(static_cast<const char*>(payload), path) ? 1 : 0;
}

}  // namespace

Result<PendingCommit> Committer::Preview(const std::string& path) {
  git_repository* raw = nullptr;
  if (git_repository_open(&raw, path.c_str()) != 0) return git::Error("cannot open the workspace's git repository");
  git::Repository repo(raw);
  const char* workdir = git_repository_workdir(repo.get());
  if (workdir == nullptr) return Status::FailedPrecondition("the workspace's repository has no working copy");
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  git_status_list* list_raw = nullptr;
  if (git_status_list_new(&list_raw, repo.get(), &opts) != 0) return git::Error("cannot read the workspace's changes");
  std::unique_ptr<git_status_list, git::Deleter<git_status_list, git_status_list_free>> list(list_raw);
  PendingCommit out;
  for (size_t i = 0; i < git_status_list_entrycount(list.get()); ++i) {
    const git_status_entry* e = git_status_byindex(list.get(), i);
    const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
    if (d == nullptr) continue;
    const char* file = d->new_file.path ? d->new_file.path : d->old_file.path;
    if (IsBazelConvenienceLink(workdir, file)) {
      out.left_out.push_back(file);
      continue;
    }
    std::string kind = "modified";
    if (e->status & (GIT_STATUS_WT_NEW | GIT_STATUS_INDEX_NEW)) kind = "added";
    if (e->status & (GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED)) kind = "deleted";
    out.changes.push_back({file, kind});
  }
  return out;
}

Result<WorkspaceHead> Committer::CommitAll(const std::string& path, const Author& author, const std::string& message) {
  git_repository* raw = nullptr;
  if (git_repository_open(&raw, path.c_str()) != 0) return git::Error("cannot open the workspace's git repository");
  git::Repository repo(raw);
  git_reference* head_raw = nullptr;
  if (git_repository_head(&head_raw, repo.get()) != 0) return git::Error("the workspace has no checked-out branch");
  git::Reference head(head_raw);
  if (!git_reference_is_branch(head.get())) {
    return Status::FailedPrecondition("the workspace is on a detached HEAD; check out a branch first");
  }
  WorkspaceHead out;
  out.branch = git_reference_shorthand(head.get());
  git_commit* parent_raw = nullptr;
  if (git_commit_lookup(&parent_raw, repo.get(), git_reference_target(head.get())) != 0) {
    return git::Error("cannot read the workspace's HEAD commit");
  }
  git::Commit parent(parent_raw);

  git_index* index_raw = nullptr;
  if (git_repository_index(&index_raw, repo.get()) != 0) return git::Error("cannot read the workspace's index");
  Index index(index_raw);
  char star[] = "*";
  char* paths[] = {star};
  git_strarray all = {paths, 1};
  // add_all picks up new and changed files (skipping ignored ones),
  // update_all drops the deleted.
  const char* workdir = git_repository_workdir(repo.get());
  if (workdir == nullptr) return Status::FailedPrecondition("the workspace's repository has no working copy");
  if (git_index_add_all(index.get(), &all, GIT_INDEX_ADD_DEFAULT, SkipBazelLinks, const_cast<char*>(workdir)) != 0 ||
      git_index_update_all(index.get(), &all, nullptr, nullptr) != 0 || git_index_write(index.get()) != 0) {
    return git::Error("cannot stage the workspace's changes");
  }
  git_oid tree_oid;
  if (git_index_write_tree(&tree_oid, index.get()) != 0) return git::Error("cannot write the workspace's tree");
  if (git_oid_equal(&tree_oid, git_commit_tree_id(parent.get()))) {
    out.commit = Hex(*git_commit_id(parent.get()));
    return out;
  }
  git_tree* tree_raw = nullptr;
  if (git_tree_lookup(&tree_raw, repo.get(), &tree_oid) != 0) return git::Error("cannot read the new tree");
  Tree tree(tree_raw);
  git_signature* sig_raw = nullptr;
  if (git_signature_now(&sig_raw, author.name.c_str(), author.email.c_str()) != 0) {
    return git::Error("cannot make the author's signature");
  }
  Signature sig(sig_raw);
  git_oid commit_oid;
  const git_commit* parents[] = {parent.get()};
  if (git_commit_create(&commit_oid, repo.get(), "HEAD", sig.get(), sig.get(), nullptr, message.c_str(), tree.get(), 1,
                        parents) != 0) {
    return git::Error("cannot commit the workspace's changes");
  }
  out.commit = Hex(commit_oid);
  out.committed = true;
  return out;
}

Result<bool> Committer::Contains(const std::string& path, const std::string& ref, const std::string& commit) {
  git_repository* raw = nullptr;
  if (git_repository_open(&raw, path.c_str()) != 0) return git::Error("cannot open the workspace's git repository");
  git::Repository repo(raw);
  git_oid tip, c;
  if (git_reference_name_to_id(&tip, repo.get(), ref.c_str()) != 0) return false;
  if (git_oid_fromstr(&c, commit.c_str()) != 0) return Status::InvalidArgument("'" + commit + "' is not a commit id");
  if (git_oid_equal(&tip, &c)) return true;
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, repo.get()) != 0) return git::Error("cannot read objects");
  bool known = git_odb_exists(odb, &c) == 1;
  git_odb_free(odb);
  if (!known) return false;  // a commit this repository never saw
  int rc = git_graph_descendant_of(repo.get(), &tip, &c);
  if (rc < 0) return git::Error("cannot compare commits");
  return rc == 1;
}

}  // namespace cifs
