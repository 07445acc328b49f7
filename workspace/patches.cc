#include "workspace/patches.h"

#include "common/utf8.h"
#include "workspace/git.h"

namespace cifs {
namespace {

using DiffPtr = std::unique_ptr<git_diff, git::Deleter<git_diff, git_diff_free>>;
using PatchPtr = std::unique_ptr<git_patch, git::Deleter<git_patch, git_patch_free>>;

FilePatch::Kind KindOf(git_delta_t status) {
  switch (status) {
    case GIT_DELTA_ADDED: return FilePatch::Kind::kAdded;
    case GIT_DELTA_DELETED: return FilePatch::Kind::kDeleted;
    case GIT_DELTA_RENAMED: return FilePatch::Kind::kRenamed;
    default: return FilePatch::Kind::kModified;
  }
}

// The hunks of `patch` as text, up to `limit` bytes (whole lines only).
std::string HunkText(git_patch* patch, size_t limit, bool* truncated) {
  std::string out;
  for (size_t h = 0; h < git_patch_num_hunks(patch); ++h) {
    const git_diff_hunk* hunk = nullptr;
    size_t lines = 0;
    if (git_patch_get_hunk(&hunk, &lines, patch, h) != 0) break;
    std::string header(hunk->header, hunk->header_len);
    if (out.size() + header.size() > limit) {
      *truncated = true;
      return out;
    }
    out += header;
    if (!header.empty() && header.back() != '\n') out += '\n';
    for (size_t l = 0; l < lines; ++l) {
      const git_diff_line* line = nullptr;
      if (git_patch_get_line_in_hunk(&line, patch, h, l) != 0) break;
      std::string text;
      switch (line->origin) {
        case GIT_DIFF_LINE_CONTEXT: case GIT_DIFF_LINE_ADDITION: case GIT_DIFF_LINE_DELETION:
          text.push_back(line->origin);
          text.append(line->content, line->content_len);
          break;
        case GIT_DIFF_LINE_CONTEXT_EOFNL: case GIT_DIFF_LINE_ADD_EOFNL: case GIT_DIFF_LINE_DEL_EOFNL:
          text = "\\ No newline at end of file\n";
          break;
        default: continue;
      }
      if (text.back() != '\n') text += '\n';
      if (out.size() + text.size() > limit) {
        *truncated = true;
        return out;
      }
      out += text;
    }
  }
  return out;
}

}  // namespace

Result<Patches> ComparePatches(const std::string& mirror, const std::string& from, const std::string& to,
                               const PatchLimits& limits) {
  auto repo = git::OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  auto a = git::TreeOf(repo->get(), from);
  if (!a.ok()) return a.status();
  auto b = git::TreeOf(repo->get(), to);
  if (!b.ok()) return b.status();
  git_diff* raw = nullptr;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  // A file past this is compared as binary (named, counted as no lines):
  // a PR's 1 GB file costs a reviewer's request no gigabyte of memory.
  opts.max_size = static_cast<git_off_t>(limits.max_blob_bytes);
  if (git_diff_tree_to_tree(&raw, repo->get(), a->get(), b->get(), &opts) != 0) {
    return git::Error("cannot compare " + from.substr(0, 12) + " and " + to.substr(0, 12));
  }
  DiffPtr diff(raw);
  git_diff_find_options find = GIT_DIFF_FIND_OPTIONS_INIT;
  find.flags = GIT_DIFF_FIND_RENAMES;
  if (git_diff_find_similar(diff.get(), &find) != 0) return git::Error("cannot find renames");
  Patches out;
  size_t total = 0;
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    git_patch* p = nullptr;
    if (git_patch_from_diff(&p, diff.get(), i) != 0) return git::Error("cannot read a file's changes");
    PatchPtr patch(p);
    const git_diff_delta* d = git_patch_get_delta(patch.get());
    FilePatch f;
    f.kind = KindOf(d->status);
    f.path = ValidUtf8(f.kind == FilePatch::Kind::kDeleted ? d->old_file.path : d->new_file.path);
    if (f.kind == FilePatch::Kind::kRenamed) f.old_path = ValidUtf8(d->old_file.path);
    f.binary = (d->flags & GIT_DIFF_FLAG_BINARY) != 0;
    size_t context = 0, adds = 0, dels = 0;
    if (git_patch_line_stats(&context, &adds, &dels, patch.get()) == 0) {
      f.additions = static_cast<int>(adds);
      f.deletions = static_cast<int>(dels);
    }
    if (!f.binary && !limits.stats_only) {
      if (total >= limits.max_total_bytes) {
        out.truncated = true;
      } else {
        const size_t room = std::min(limits.max_file_bytes, limits.max_total_bytes - total);
        f.text = ValidUtf8(HunkText(patch.get(), room, &f.truncated));
        if (f.truncated && room < limits.max_file_bytes) out.truncated = true;
        total += f.text.size();
      }
    }
    out.files.push_back(std::move(f));
  }
  return out;
}

Result<std::string> MergeBase(const std::string& mirror, const std::string& a, const std::string& b) {
  auto repo = git::OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  git_oid x, y, base;
  if (git_oid_fromstr(&x, a.c_str()) != 0 || git_oid_fromstr(&y, b.c_str()) != 0) {
    return Status::InvalidArgument("not commit ids: " + a + ", " + b);
  }
  if (git_merge_base(&base, repo->get(), &x, &y) != 0) {
    return git::Error("no common ancestor of " + a.substr(0, 12) + " and " + b.substr(0, 12));
  }
  return git::Hex(base);
}

Result<std::string> BranchTip(const std::string& mirror, const std::string& branch) {
  auto repo = git::OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo->get(), ("refs/heads/" + branch).c_str()) != 0) {
    return git::Error("no branch " + branch + " in the mirror");
  }
  return git::Hex(oid);
}

Result<std::string> FileAt(const std::string& mirror, const std::string& commit, const std::string& path) {
  auto repo = git::OpenMirror(mirror);
  if (!repo.ok()) return repo.status();
  auto tree = git::TreeOf(repo->get(), commit);
  if (!tree.ok()) return tree.status();
  git_tree_entry* raw = nullptr;
  if (git_tree_entry_bypath(&raw, tree->get(), path.c_str()) != 0) {
    return Status::NotFound(path + " does not exist at " + commit.substr(0, 12));
  }
  std::unique_ptr<git_tree_entry, git::Deleter<git_tree_entry, git_tree_entry_free>> entry(raw);
  if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB) return Status::NotFound(path + " is not a file");
  git_blob* blob_raw = nullptr;
  if (git_blob_lookup(&blob_raw, repo->get(), git_tree_entry_id(entry.get())) != 0) {
    return git::Error("cannot read " + path);
  }
  std::unique_ptr<git_blob, git::Deleter<git_blob, git_blob_free>> blob(blob_raw);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
}

}  // namespace cifs
