// Makes the farm's git copies: a bare mirror per registered repository and a
// working copy per workspace. A workspace's object files are hard links to
// the mirror's, so a second workspace of the same repository costs a checkout,
// not another clone, and git inside a mount finds every object it needs.
//
//   STATE/repos/NAME.git        mirror of the upstream's branches
//   STATE/workspaces/NAME/      working copy, remote `origin` = upstream
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "common/names.h"
#include "common/status.h"
#include "workspace/git.h"
#include "workspace/git_credentials.h"

namespace cifs {

struct MirrorInfo {
  std::string default_branch;
};

// Where a workspace's creation is, for an admin watching it.
struct ProvisionProgress {
  enum class Phase { kUpdatingMirror, kSharingObjects, kCheckingOut };
  Phase phase = Phase::kUpdatingMirror;
  int64_t files_done = 0;   // checking out: files written so far
  int64_t files_total = 0;  // checking out: files in the commit (0 until git says)
};
using ProvisionProgressFn = std::function<void(const ProvisionProgress&)>;

class Provisioner {
 public:
  // `credentials` (may be null: anonymous) must outlive the provisioner.
  Provisioner(std::string state_dir, const GitCredentials* credentials);

  Status Init();
  // Clones the upstream at `url` as the mirror of repository `name`.
  Result<MirrorInfo> Mirror(const std::string& name, const std::string& url);
  // The mirror of `name`, cloned from `url` unless this node has it already
  // (in a cluster each node keeps its own mirrors).
  Status EnsureMirror(const std::string& name, const std::string& url);
  // Fetches new commits of every branch into the mirror.
  Status Refresh(const std::string& name);
  // Creates workspace `ws` on `branch` of repository `repo`; returns the
  // checked-out commit. `progress` (may be empty) hears of each phase and,
  // while checking out, of the files written, from this thread.
  Result<std::string> CreateWorkspace(const std::string& repo, const std::string& upstream_url,
                                      const std::string& ws, const std::string& branch,
                                      const ProvisionProgressFn& progress = {});
  Status DeleteWorkspace(const std::string& ws);

  std::string MirrorPath(const std::string& repo) const { return state_dir_ + "/repos/" + repo + ".git"; }
  std::string WorkspacePath(const std::string& ws) const { return state_dir_ + "/workspaces/" + ws; }

 private:
  git::Library library_;
  std::string state_dir_;
  GitCredentials none_;
  const GitCredentials* credentials_;
  std::mutex mirror_mu_;  // one fetch into a mirror at a time
};

Status ValidateBranchName(const std::string& branch);

}  // namespace cifs
