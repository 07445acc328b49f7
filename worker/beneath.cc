#include "worker/beneath.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cifs {

Result<UniqueFd> OpenDirBeneath(int dir_fd, const std::string& rel, bool create) {
  UniqueFd cur(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return Status::Internal(std::string("dup: ") + std::strerror(errno));
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    const std::string part = rel.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("'" + rel + "' is not a plain relative path");
    }
    UniqueFd next(::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid() && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), part.c_str(), 0755) < 0 && errno != EEXIST) {
        return Status::Internal("cannot make " + rel + ": " + std::strerror(errno));
      }
      next = UniqueFd(::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!next.valid()) {
      if (errno == ENOENT) return Status::NotFound("'" + rel + "' does not exist");
      return Status::InvalidArgument("'" + rel + "' passes through '" + part +
                                     "', which is a symlink or not a directory");
    }
    cur = std::move(next);
  }
  return cur;
}

}  // namespace cifs
