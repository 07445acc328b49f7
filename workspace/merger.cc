#include "workspace/merger.h"

#include <git2.h>

#include <filesystem>
#include <set>

#include "common/files.h"

namespace cifs {

namespace fs = std::filesystem;
using git::Hex;
using git::LookUp;
using git::OpenMirror;
using git::Tree;
using git::TreeOf;

namespace {

using Index = std::unique_ptr<git_index, git::Deleter<git_index, git_index_free>>;
using Signature = std::unique_ptr<git_signature, git::Deleter<git_signature, git_signature_free>>;
using ConflictIterator =
    std::unique_ptr<git_index_conflict_iterator,
                    git::Deleter<git_index_conflict_iterator, git_index_conflict_iterator_free>>;

}  // namespace

Result<ProposedMerge> Merger::Merge(const std::string& mirror, const std::string& target, const std::string& head,
                                    const std::string& message, const std::string& keep_ref) {
  auto repo = OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  git_oid tip_oid;
  if (git_reference_name_to_id(&tip_oid, repo->get(), ("refs/heads/" + target).c_str()) != 0) {
    return Status::NotFound("the upstream has no branch '" + target + "'");
  }
  return MergeOnto(repo->get(), tip_oid, head, message, keep_ref);
}

Result<ProposedMerge> Merger::MergeOnto(const std::string& mirror, const std::string& base, const std::string& head,
                                        const std::string& message, const std::string& keep_ref) {
  auto repo = OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  git_oid base_oid;
  if (git_oid_fromstr(&base_oid, base.c_str()) != 0) return Status::InvalidArgument("'" + base + "' is not a commit id");
  return MergeOnto(repo->get(), base_oid, head, message, keep_ref);
}

Result<ProposedMerge> Merger::MergeOnto(git_repository* repo, const git_oid& tip_oid, const std::string& head,
                                        const std::string& message, const std::string& keep_ref) {
  ProposedMerge out;
  git_oid head_oid;
  if (git_oid_fromstr(&head_oid, head.c_str()) != 0) return Status::InvalidArgument("'" + head + "' is not a commit id");
  out.target_tip = Hex(tip_oid);
  auto ours = LookUp(repo, tip_oid, "the target's tip");
  if (!ours.ok()) return ours.status();
  auto theirs = LookUp(repo, head_oid, "the pull request's head (was its branch deleted upstream?)");
  if (!theirs.ok()) return theirs.status();

  git_index* index_raw = nullptr;
  git_merge_options opts = GIT_MERGE_OPTIONS_INIT;
  if (git_merge_commits(&index_raw, repo, ours->get(), theirs->get(), &opts) != 0) {
    return git::Error("cannot merge");
  }
  Index index(index_raw);
  if (git_index_has_conflicts(index.get())) {
    git_index_conflict_iterator* it_raw = nullptr;
    if (git_index_conflict_iterator_new(&it_raw, index.get()) != 0) return git::Error("cannot list conflicts");
    ConflictIterator it(it_raw);
    std::set<std::string> paths;
    const git_index_entry *ancestor, *our, *their;
    while (git_index_conflict_next(&ancestor, &our, &their, it.get()) == 0) {
      const git_index_entry* e = our ? our : their ? their : ancestor;
      if (e) paths.insert(e->path);
    }
    out.conflicts.assign(paths.begin(), paths.end());
    return out;
  }
  git_oid tree_oid;
  if (git_index_write_tree_to(&tree_oid, index.get(), repo) != 0) return git::Error("cannot write the merge");
  git_tree* tree_raw = nullptr;
  if (git_tree_lookup(&tree_raw, repo, &tree_oid) != 0) return git::Error("cannot read the merged tree");
  Tree tree(tree_raw);
  git_signature* sig_raw = nullptr;
  if (git_signature_now(&sig_raw, "cifs farm", "farm@cifs.local") != 0) return git::Error("cannot sign the merge");
  Signature sig(sig_raw);
  const git_commit* parents[] = {ours->get(), theirs->get()};
  git_oid merge_oid;
  if (git_commit_create(&merge_oid, repo, nullptr, sig.get(), sig.get(), nullptr, message.c_str(), tree.get(), 2,
                        parents) != 0) {
    return git::Error("cannot commit the merge");
  }
  git_reference* ref_raw = nullptr;
  if (git_reference_create(&ref_raw, repo, keep_ref.c_str(), &merge_oid, 1, "cifs: proposed merge") != 0) {
    return git::Error("cannot keep the merge commit");
  }
  git_reference_free(ref_raw);
  out.merge_commit = Hex(merge_oid);
  return out;
}

Result<std::string> Merger::Squash(const std::string& mirror, const std::string& merge, const std::string& parent,
                                   const std::string& message, const std::string& author, const std::string& email) {
  auto repo = OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  git_oid merge_oid, parent_oid;
  if (git_oid_fromstr(&merge_oid, merge.c_str()) != 0 || git_oid_fromstr(&parent_oid, parent.c_str()) != 0) {
    return Status::InvalidArgument("not commit ids");
  }
  auto merged = LookUp(repo->get(), merge_oid, "the validated merge");
  if (!merged.ok()) return merged.status();
  auto tip = LookUp(repo->get(), parent_oid, "the target's tip");
  if (!tip.ok()) return tip.status();
  git_tree* tree_raw = nullptr;
  if (git_commit_tree(&tree_raw, merged->get()) != 0) return git::Error("cannot read the validated tree");
  Tree tree(tree_raw);
  git_signature *author_raw = nullptr, *farm_raw = nullptr;
  if (git_signature_now(&author_raw, author.c_str(), email.c_str()) != 0) return git::Error("cannot sign");
  Signature author_sig(author_raw);
  if (git_signature_now(&farm_raw, "cifs farm", "farm@cifs.local") != 0) return git::Error("cannot sign");
  Signature farm_sig(farm_raw);
  const git_commit* parents[] = {tip->get()};
  git_oid out;
  if (git_commit_create(&out, repo->get(), nullptr, author_sig.get(), farm_sig.get(), nullptr, message.c_str(),
                        tree.get(), 1, parents) != 0) {
    return git::Error("cannot make the squashed commit");
  }
  return Hex(out);
}

Status Merger::Checkout(const std::string& mirror, const std::string& dir, const std::string& commit) {
  std::error_code ec;
  if (!fs::exists(dir + "/.git", ec)) {
    git_repository* init = nullptr;
    if (git_repository_init(&init, dir.c_str(), 0) != 0) return git::Error("cannot create " + dir);
    git_repository_free(init);
    // Objects come from the mirror; the checkout never writes any.
    CIFS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/.git/objects/info/alternates", mirror + "/objects\n"));
  }
  git_repository* raw = nullptr;
  if (git_repository_open(&raw, dir.c_str()) != 0) return git::Error("cannot open " + dir);
  git::Repository repo(raw);
  git_oid oid;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0) return Status::InvalidArgument("'" + commit + "' is not a commit id");
  git_object* obj = nullptr;
  if (git_object_lookup(&obj, repo.get(), &oid, GIT_OBJECT_COMMIT) != 0) return git::Error("cannot find the merge");
  std::unique_ptr<git_object, git::Deleter<git_object, git_object_free>> target(obj);
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED | GIT_CHECKOUT_REMOVE_IGNORED;
  if (git_checkout_tree(repo.get(), target.get(), &opts) != 0) return git::Error("cannot check out the merge");
  if (git_repository_set_head_detached(repo.get(), &oid) != 0) return git::Error("cannot point HEAD at the merge");
  return Status::Ok();
}

namespace {

using DiffPtr = std::unique_ptr<git_diff, git::Deleter<git_diff, git_diff_free>>;

}  // namespace

Result<std::vector<TreeChange>> Merger::Diff(const std::string& mirror, const std::string& from,
                                             const std::string& to) {
  auto repo = OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  auto a = TreeOf(repo->get(), from);
  if (!a.ok()) return a.status();
  auto b = TreeOf(repo->get(), to);
  if (!b.ok()) return b.status();
  git_diff* diff_raw = nullptr;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  if (git_diff_tree_to_tree(&diff_raw, repo->get(), a->get(), b->get(), &opts) != 0) {
    return git::Error("cannot compare the trees");
  }
  DiffPtr diff(diff_raw);
  std::vector<TreeChange> out;
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    TreeChange c;
    switch (d->status) {
      case GIT_DELTA_ADDED: c.kind = TreeChange::Kind::kAdded; break;
      case GIT_DELTA_DELETED: c.kind = TreeChange::Kind::kDeleted; break;
      default: c.kind = TreeChange::Kind::kModified; break;
    }
    c.path = c.kind == TreeChange::Kind::kDeleted ? d->old_file.path : d->new_file.path;
    out.push_back(std::move(c));
  }
  return out;
}

Result<bool> Merger::Contains(const std::string& mirror, const std::string& commit, const std::string& ancestor) {
  if (commit == ancestor) return true;
  auto repo = OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  git_oid c, a;
  if (git_oid_fromstr(&c, commit.c_str()) != 0 || git_oid_fromstr(&a, ancestor.c_str()) != 0) {
    return Status::InvalidArgument("not commit ids");
  }
  int rc = git_graph_descendant_of(repo->get(), &c, &a);
  if (rc < 0) return git::Error("cannot compare " + commit.substr(0, 12) + " and " + ancestor.substr(0, 12));
  return rc == 1;
}

Result<std::set<std::string>> Merger::PackageDirs(const std::string& mirror, const std::string& commit) {
  auto repo = OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  auto tree = TreeOf(repo->get(), commit);
  if (!tree.ok()) return tree.status();
  std::set<std::string> dirs;
  auto visit = [](const char* root, const git_tree_entry* e, void* payload) -> int {
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) return 0;
    std::string name = git_tree_entry_name(e);
    if (name == "BUILD" || name == "BUILD.bazel") {
      std::string dir = root;  // "a/b/" or ""
      if (!dir.empty()) dir.pop_back();
      static_cast<std::set<std::string>*>(payload)->insert(dir);
    }
    return 0;
  };
  if (git_tree_walk(tree->get(), GIT_TREEWALK_PRE, visit, &dirs) != 0) return git::Error("cannot walk the tree");
  return dirs;
}

}  // namespace cifs
