#include "farmserver/prs/pr_diffs.h"

#include <functional>
#include <map>
#include <optional>

#include "common/utf8.h"
#include "farmserver/fs/workspace_dir.h"

namespace cifs {
namespace {

const char* KindName(FilePatch::Kind k) {
  switch (k) {
    case FilePatch::Kind::kAdded: return "added";
    case FilePatch::Kind::kDeleted: return "deleted";
    case FilePatch::Kind::kRenamed: return "renamed";
    case FilePatch::Kind::kModified: return "modified";
  }
  return "modified";
}

// Line `line` (1-based) of `text`, without its newline; nullopt past the end.
std::optional<std::string> LineOf(const std::string& text, int line) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) return std::nullopt;
    start = nl + 1;
  }
  if (start >= text.size()) return std::nullopt;
  size_t end = text.find('\n', start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

template <typename T>
Result<T> PrDiffs::WithMirror(const v1::PullRequest& pr, const std::function<Result<T>(const std::string&)>& read) {
  const std::string mirror = provisioner_->MirrorPath(pr.repo());
  auto first = read(mirror);
  if (first.ok()) return first;
  if (Status s = provisioner_->Refresh(pr.repo()); !s.ok()) {
    return Status::Unavailable("cannot fetch " + pr.repo() + " to read pull request #" + std::to_string(pr.number()) +
                               ": " + s.message());
  }
  return read(mirror);
}

Result<PrDiffs::Sides> PrDiffs::SidesOf(const v1::PullRequest& pr, int rev, int since) {
  const int n = pr.revisions_size();
  if (rev < 1 || rev > n) {
    return Status::InvalidArgument("pull request #" + std::to_string(pr.number()) + " has revisions 1 to " +
                                   std::to_string(n) + ", not " + std::to_string(rev));
  }
  const v1::Revision& r = pr.revisions(rev - 1);
  if (since != 0) {
    if (since < 1 || since >= rev) {
      return Status::InvalidArgument("--since wants an earlier revision than " + std::to_string(rev) + " (1 to " +
                                     std::to_string(rev - 1) + ")");
    }
    return Sides{pr.revisions(since - 1).head_commit(), r.head_commit(),
                 "revision " + std::to_string(since) + " to revision " + std::to_string(rev) + " (the author's commits)"};
  }
  if (!r.validation().merge_commit().empty() && !r.validation().target_tip().empty()) {
    return Sides{r.validation().target_tip(), r.validation().merge_commit(),
                 "the proposed merge against the tip of " + pr.target_branch() + " it was validated on"};
  }
  auto base = WithMirror<std::string>(pr, [&](const std::string& mirror) -> Result<std::string> {
    auto tip = BranchTip(mirror, pr.target_branch());
    if (!tip.ok()) return tip.status();
    return MergeBase(mirror, *tip, r.head_commit());
  });
  if (!base.ok()) return base.status();
  return Sides{*base, r.head_commit(),
               "the head against its merge base with " + pr.target_branch() + " (not merged on the farm yet)"};
}

Result<v1::PullRequestDiff> PrDiffs::Diff(const v1::PullRequest& pr, const v1::GetDiffRequest& req) {
  const int rev = req.revision() == 0 ? pr.revisions_size() : req.revision();
  auto sides = SidesOf(pr, rev, req.since());
  if (!sides.ok()) return sides.status();
  PatchLimits limits = limits_;
  limits.stats_only = req.stat();
  auto patches = WithMirror<Patches>(pr, [&](const std::string& mirror) {
    return ComparePatches(mirror, sides->from, sides->to, limits);
  });
  if (!patches.ok()) {
    return Status::FailedPrecondition("cannot compare revision " + std::to_string(rev) + " of #" +
                                      std::to_string(pr.number()) + ": " + patches.status().message());
  }
  v1::PullRequestDiff out;
  out.set_number(pr.number());
  out.set_revision(rev);
  out.set_since(req.since());
  out.set_from_commit(sides->from);
  out.set_to_commit(sides->to);
  out.set_basis(sides->basis);
  out.set_truncated(patches->truncated);
  for (auto& f : patches->files) {
    v1::FileDiff* d = out.add_files();
    d->set_path(std::move(f.path));
    d->set_old_path(std::move(f.old_path));
    d->set_kind(KindName(f.kind));
    d->set_additions(f.additions);
    d->set_deletions(f.deletions);
    d->set_binary(f.binary);
    d->set_patch(std::move(f.text));
    d->set_truncated(f.truncated);
    out.set_additions(out.additions() + f.additions);
    out.set_deletions(out.deletions() + f.deletions);
  }
  return out;
}

Status PrDiffs::Anchor(const v1::PullRequest& pr, std::vector<v1::LineComment>* comments) {
  if (comments->empty()) return Status::Ok();
  for (const auto& c : *comments) {
    if (Status s = ValidateWorkspacePath(c.path()); !s.ok()) return Status::InvalidArgument("comment path: " + s.message());
    if (c.line() < 1) return Status::InvalidArgument("a line comment needs a line number from 1");
    if (c.text().empty() || c.text().size() > 4000) {
      return Status::InvalidArgument("a line comment needs a text of 1 to 4000 characters");
    }
  }
  // One look at the revision and at each file, however many comments.
  auto sides = SidesOf(pr, pr.revisions_size(), 0);
  if (!sides.ok()) return sides.status();
  std::map<std::string, std::string> files;
  for (auto& c : *comments) {
    auto it = files.find(c.path());
    if (it == files.end()) {
      auto content = WithMirror<std::string>(pr, [&](const std::string& mirror) {
        return FileAt(mirror, sides->to, c.path());
      });
      if (!content.ok()) {
        return Status::InvalidArgument("cannot comment on " + c.path() + ": " + content.status().message());
      }
      it = files.emplace(c.path(), std::move(*content)).first;
    }
    auto text = LineOf(it->second, c.line());
    if (!text) {
      return Status::InvalidArgument(c.path() + " has no line " + std::to_string(c.line()) + " in revision " +
                                     std::to_string(pr.revisions_size()));
    }
    c.set_line_text(ValidUtf8(*text));
    c.set_commit(sides->to);
    c.set_outdated(false);
  }
  return Status::Ok();
}

void PrDiffs::MarkOutdated(v1::PullRequest* pr) {
  if (pr->revisions_size() == 0) return;
  const int latest = pr->revisions_size();
  // The author's latest commit, not its merge: reading a page never fetches.
  const std::string head = pr->revisions(latest - 1).head_commit();
  const std::string mirror = provisioner_->MirrorPath(pr->repo());
  std::map<std::string, Result<std::string>> files;  // each file read once
  for (auto& review : *pr->mutable_reviews()) {
    if (review.revision() == latest) continue;  // made on what is shown now
    for (auto& c : *review.mutable_comments()) {
      auto it = files.find(c.path());
      if (it == files.end()) it = files.emplace(c.path(), FileAt(mirror, head, c.path())).first;
      const Result<std::string>& content = it->second;
      if (!content.ok()) {
        // Removed: outdated. The commit not fetched yet: shown as it was.
        c.set_outdated(content.status().code() == Status::Code::kNotFound);
        continue;
      }
      auto text = LineOf(*content, c.line());
      c.set_outdated(!text || ValidUtf8(*text) != c.line_text());
    }
  }
}

}  // namespace cifs
