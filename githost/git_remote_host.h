// A GitHost that speaks git itself (libgit2): file://, git:// and https://
// upstreams, whatever libgit2 was built with.
#pragma once

#include "githost/git_host.h"
#include "workspace/git.h"
#include "workspace/git_credentials.h"

namespace cifs {

class GitRemoteHost final : public GitHost {
 public:
  // `credentials` (may be null: anonymous) must outlive the host.
  explicit GitRemoteHost(const GitCredentials* credentials) : credentials_(credentials ? credentials : &none_) {}

  Status Push(const std::string& repo_path, const std::string& url, const std::string& commit,
              const std::string& branch, bool force) override;
  Result<std::string> BranchTip(const std::string& url, const std::string& branch) override;

 private:
  git::Library library_;
  GitCredentials none_;
  const GitCredentials* credentials_;
};

}  // namespace cifs
