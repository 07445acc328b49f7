#include "githost/git_remote_host.h"

#include <git2.h>

namespace cifs {

namespace {

struct PushOutcome {
  std::string rejected;  // the upstream's reason, when it refused the ref
};

int OnPushUpdate(const char* refname, const char* status, void* payload) {
  auto* outcome = static_cast<PushOutcome*>(static_cast<GitCredentials::Attempt*>(payload)->extra);
  if (status != nullptr) outcome->rejected = std::string(refname) + ": " + status;
  return 0;
}

}  // namespace

Status GitRemoteHost::Push(const std::string& repo_path, const std::string& url, const std::string& commit,
                           const std::string& branch, bool force) {
  git_repository* raw = nullptr;
  if (git_repository_open(&raw, repo_path.c_str()) != 0) return git::Error("cannot open " + repo_path);
  git::Repository repo(raw);
  git_oid oid;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0) return Status::InvalidArgument("'" + commit + "' is not a commit id");
  // libgit2 pushes references, not bare commits: a private one names it.
  const std::string local_ref = "refs/cifs/push/" + branch;
  git_reference* ref_raw = nullptr;
  if (git_reference_create(&ref_raw, repo.get(), local_ref.c_str(), &oid, 1, "cifs: push") != 0) {
    return git::Error("cannot name the commit to push");
  }
  git::Reference ref(ref_raw);
  git_remote* remote_raw = nullptr;
  if (git_remote_create_anonymous(&remote_raw, repo.get(), url.c_str()) != 0) {
    return git::Error("cannot reach the upstream " + url);
  }
  git::Remote remote(remote_raw);
  std::string spec = (force ? "+" : "") + local_ref + ":refs/heads/" + branch;
  char* specs[] = {spec.data()};
  git_strarray refspecs = {specs, 1};
  PushOutcome outcome;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  GitCredentials::Attempt attempt{.extra = &outcome};
  credentials_->Attach(&opts.callbacks, &attempt);
  opts.callbacks.push_update_reference = OnPushUpdate;
  int rc = git_remote_push(remote.get(), &refspecs, &opts);
  git_reference_delete(ref.get());
  if (rc != 0) {
    const git_error* e = git_error_last();
    std::string why = e && e->message ? e->message : "unknown error";
    if (why.find("fast-forward") != std::string::npos || why.find("non-fast") != std::string::npos) {
      return Status::FailedPrecondition("the upstream's " + branch + " moved on: " + why);
    }
    return Status::Unavailable("cannot push to " + url + ": " + why);
  }
  if (!outcome.rejected.empty()) {
    return Status::FailedPrecondition("the upstream refused " + outcome.rejected);
  }
  return Status::Ok();
}

Result<std::string> GitRemoteHost::BranchTip(const std::string& url, const std::string& branch) {
  git_remote* remote_raw = nullptr;
  if (git_remote_create_detached(&remote_raw, url.c_str()) != 0) return git::Error("cannot reach the upstream " + url);
  git::Remote remote(remote_raw);
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  GitCredentials::Attempt attempt;
  credentials_->Attach(&callbacks, &attempt);
  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &callbacks, nullptr, nullptr) != 0) {
    return Status::Unavailable("cannot reach the upstream " + url + ": " + git::Error("").message());
  }
  const git_remote_head** heads = nullptr;
  size_t n = 0;
  std::string want = "refs/heads/" + branch;
  std::string tip;
  if (git_remote_ls(&heads, &n, remote.get()) == 0) {
    for (size_t i = 0; i < n; ++i) {
      if (want == heads[i]->name) {
        char hex[GIT_OID_HEXSZ + 1] = {};
        git_oid_tostr(hex, sizeof hex, &heads[i]->oid);
        tip = hex;
      }
    }
  }
  git_remote_disconnect(remote.get());
  if (tip.empty()) return Status::NotFound("the upstream has no branch '" + branch + "'");
  return tip;
}

}  // namespace cifs
