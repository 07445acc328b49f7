// Access to one workspace's directory tree that cannot leave it.
//
// Every path is checked (relative, no empty, "." or ".." component) and then
// resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)
// from a descriptor of the root, so neither a symlink planted in the tree nor a
// rename racing with the call can take an operation outside. The last component
// is always handled with *at() calls that do not follow it.
//
// Operations return 0 or a positive errno, the way the mount passes them on.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace cifs {

// The longest path a request may name (bytes).
inline constexpr size_t kMaxWorkspacePath = 64 * 1024;

// InvalidArgument unless `path` is "" (the root) or a/b/c of plain names.
Status ValidateWorkspacePath(std::string_view path);

class WorkspaceDir {
 public:
  static Result<std::unique_ptr<WorkspaceDir>> Open(const std::string& root);
  // Only Open constructs one.
  struct Passkey {
    explicit Passkey() = default;
  };
  WorkspaceDir(Passkey, std::string root, UniqueFd fd) : root_(std::move(root)), root_fd_(std::move(fd)) {}

  const std::string& root() const { return root_; }

  // lstat of `path` (never follows a final symlink).
  int Stat(std::string_view path, struct stat* st) const;
  // Opens the directory `path` itself for reading entries.
  int OpenDir(std::string_view path, UniqueFd* out) const;
  // Opens a regular file; a symlink or directory there is refused.
  int OpenFile(std::string_view path, int flags, mode_t mode, UniqueFd* out) const;

  // Creates a regular file with exactly `mode` (the caller's umask was
  // applied by its kernel; the farm's must not be applied again), or opens
  // the one there unless `exclusive`.
  int CreateFile(std::string_view path, mode_t mode, bool exclusive, UniqueFd* out) const;
  // Makes a directory with exactly `mode`, as CreateFile.
  int Mkdir(std::string_view path, mode_t mode) const;
  int Symlink(std::string_view path, const std::string& target) const;
  int Unlink(std::string_view path) const;
  int Rmdir(std::string_view path) const;
  int Rename(std::string_view from, std::string_view to, unsigned flags) const;
  int Chmod(std::string_view path, mode_t mode) const;
  // times[i].tv_nsec may be UTIME_NOW / UTIME_OMIT, as for utimensat.
  int SetTimes(std::string_view path, const struct timespec times[2]) const;

  // Opens the directory holding the last component of `path`; `name` gets
  // it, to be used with *at() calls that do not follow it.
  int OpenParent(std::string_view path, UniqueFd* parent, std::string* name) const;

 private:
  int Resolve(std::string_view rel, int flags, mode_t mode, UniqueFd* out) const;
  // One openat2 step, beneath `dirfd`; `rel` shorter than PATH_MAX.
  static int OpenBeneath(int dirfd, std::string_view rel, int flags, mode_t mode, UniqueFd* out);

  std::string root_;
  UniqueFd root_fd_;
};

}  // namespace cifs
