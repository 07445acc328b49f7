#include "farmserver/fs/workspace_dir.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace cifs {

Status ValidateWorkspacePath(std::string_view path) {
  if (path.empty()) return Status::Ok();
  // Deeper than PATH_MAX is allowed, as on a local disk (Resolve walks it in
  // steps); the bound only keeps requests small.
  if (path.size() > kMaxWorkspacePath) return Status::InvalidArgument("path too long");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.size() > 255 ||
        part.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("'" + std::string(path) +
                                     "' is not a path inside the workspace (empty, '.' or '..' component)");
    }
    start = end + 1;
  }
  return Status::Ok();
}

Result<std::unique_ptr<WorkspaceDir>> WorkspaceDir::Open(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("cannot open workspace " + root, errno);
  return std::make_unique<WorkspaceDir>(Passkey(), root, std::move(fd));
}

int WorkspaceDir::Resolve(std::string_view rel, int flags, mode_t mode, UniqueFd* out) const {
  if (rel.empty()) rel = ".";
  // openat2 takes at most PATH_MAX bytes: a deeper path is walked in steps,
  // each resolved beneath the directory the last one reached (never
  // upwards: paths have no "..").
  constexpr size_t kStep = 4000;
  UniqueFd base;
  int at = root_fd_.get();
  while (rel.size() >= kStep) {
    size_t cut = rel.rfind('/', kStep - 1);  // components are at most 255 bytes
    if (cut == std::string_view::npos || cut == 0) return ENAMETOOLONG;
    UniqueFd next;
    if (int e = OpenBeneath(at, rel.substr(0, cut), O_PATH | O_DIRECTORY, 0, &next)) return e;
    base = std::move(next);
    at = base.get();
    rel = rel.substr(cut + 1);
  }
  return OpenBeneath(at, rel, flags, mode, out);
}

int WorkspaceDir::OpenBeneath(int dirfd, std::string_view rel, int flags, mode_t mode, UniqueFd* out) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  std::string path(rel);
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);  // a rename elsewhere raced with the lookup
  if (fd < 0) return errno;
  out->reset(fd);
  return 0;
}

int WorkspaceDir::OpenParent(std::string_view path, UniqueFd* parent, std::string* name) const {
  if (path.empty()) return EBUSY;  // the root itself cannot be created, removed or renamed
  size_t slash = path.rfind('/');
  *name = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
  std::string_view dir = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
  return Resolve(dir, O_PATH | O_DIRECTORY, 0, parent);
}

int WorkspaceDir::Stat(std::string_view path, struct stat* st) const {
  if (path.empty()) return ::fstat(root_fd_.get(), st) == 0 ? 0 : errno;
  UniqueFd parent;
  std::string name;
  if (int e = OpenParent(path, &parent, &name)) return e;
  return ::fstatat(parent.get(), name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

int WorkspaceDir::OpenDir(std::string_view path, UniqueFd* out) const {
  return Resolve(path, O_RDONLY | O_DIRECTORY, 0, out);
}

int WorkspaceDir::OpenFile(std::string_view path, int flags, mode_t mode, UniqueFd* out) const {
  if (path.empty()) return EISDIR;
  int e = Resolve(path, flags | O_NOFOLLOW | O_NONBLOCK, mode, out);
  if (e == ELOOP) {
    // The last component is a symlink: the farm never follows one. Report
    // what a no-follow open of a symlink reports.
    return ELOOP;
  }
  if (e) return e;
  struct stat st;
  if (::fstat(out->get(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EINVAL;  // fifos, devices: not workspace content
  return 0;
}

int WorkspaceDir::CreateFile(std::string_view path, mode_t mode, bool exclusive, UniqueFd* out) const {
  int e = OpenFile(path, O_WRONLY | O_CREAT | O_EXCL, mode, out);
  if (e == EEXIST && !exclusive) return OpenFile(path, O_WRONLY, 0, out);
  if (e) return e;
  return ::fchmod(out->get(), mode & 07777) == 0 ? 0 : errno;
}

int WorkspaceDir::Mkdir(std::string_view path, mode_t mode) const {
  UniqueFd parent;
  std::string name;
  if (int e = OpenParent(path, &parent, &name)) return e == EBUSY ? EEXIST : e;
  if (::mkdirat(parent.get(), name.c_str(), mode) != 0) return errno;
  UniqueFd made(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!made.valid()) return errno;
  return ::fchmod(made.get(), mode & 07777) == 0 ? 0 : errno;
}

int WorkspaceDir::Symlink(std::string_view path, const std::string& target) const {
  UniqueFd parent;
  std::string name;
  if (int e = OpenParent(path, &parent, &name)) return e == EBUSY ? EEXIST : e;
  // The target is stored as text and never resolved on the farm.
  return ::symlinkat(target.c_str(), parent.get(), name.c_str()) == 0 ? 0 : errno;
}

int WorkspaceDir::Unlink(std::string_view path) const {
  UniqueFd parent;
  std::string name;
  if (int e = OpenParent(path, &parent, &name)) return e == EBUSY ? EISDIR : e;
  return ::unlinkat(parent.get(), name.c_str(), 0) == 0 ? 0 : errno;
}

int WorkspaceDir::Rmdir(std::string_view path) const {
  UniqueFd parent;
  std::string name;
  if (int e = OpenParent(path, &parent, &name)) return e;
  return ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) == 0 ? 0 : errno;
}

int WorkspaceDir::Rename(std::string_view from, std::string_view to, unsigned flags) const {
  UniqueFd from_dir, to_dir;
  std::string from_name, to_name;
  if (int e = OpenParent(from, &from_dir, &from_name)) return e;
  if (int e = OpenParent(to, &to_dir, &to_name)) return e;
  int r = ::renameat2(from_dir.get(), from_name.c_str(), to_dir.get(), to_name.c_str(), flags);
  return r == 0 ? 0 : errno;
}

int WorkspaceDir::Chmod(std::string_view path, mode_t mode) const {
  UniqueFd fd;
  if (int e = Resolve(path, O_PATH | O_NOFOLLOW, 0, &fd)) return e;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno;
  if (S_ISLNK(st.st_mode)) return EOPNOTSUPP;
  // chmod the very inode that was resolved, through its descriptor: no
  // second lookup that a rename could redirect.
  char proc[64];
  ::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd.get());
  return ::chmod(proc, mode & 07777) == 0 ? 0 : errno;
}

int WorkspaceDir::SetTimes(std::string_view path, const struct timespec times[2]) const {
  if (path.empty()) {
    char proc[64];  // the root is held as O_PATH, which futimens refuses
    ::snprintf(proc, sizeof proc, "/proc/self/fd/%d", root_fd_.get());
    return ::utimensat(AT_FDCWD, proc, times, 0) == 0 ? 0 : errno;
  }
  UniqueFd parent;
  std::string name;
  if (int e = OpenParent(path, &parent, &name)) return e;
  return ::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

}  // namespace cifs
