#include "workspace/git.h"

namespace cifs::git {

Status Error(const std::string& what) {
  const git_error* e = git_error_last();
  return Status::Internal(what + ": " + (e && e->message ? e->message : "unknown git error"));
}

}  // namespace cifs::git
