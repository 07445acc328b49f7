#include "fsd/kernel_primer.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace cifs {

namespace {
constexpr decltype(statfs::f_type) kFuseSuperMagic = 0x65735546;
}  // namespace

bool PrimeClaims::NoteLookup(fuse_ino_t dir) {
  std::lock_guard lock(mu_);
  if (seen_.size() >= (1u << 20)) seen_.clear();  // forgetting costs a second walk, no more
  uint8_t& n = seen_[dir];
  if (n == kClaimed || ++n < kLookupsBeforePriming) return false;
  n = kClaimed;
  return true;
}

bool PrimeClaims::Claim(fuse_ino_t dir) {
  std::lock_guard lock(mu_);
  uint8_t& n = seen_[dir];
  if (n == kClaimed) return false;
  n = kClaimed;
  return true;
}

void PrimeClaims::Release(fuse_ino_t dir) {
  std::lock_guard lock(mu_);
  seen_.erase(dir);
}

KernelPrimer::KernelPrimer(Options options, InodeTable* table)
    : options_(std::move(options)), table_(table), pool_(options_.threads, 4096) {}

void KernelPrimer::NoteLookup(fuse_ino_t dir) {
  if (!claims_.NoteLookup(dir)) return;
  if (!pool_.TrySubmit([this, dir] { PrimeSubtree(dir); })) claims_.Release(dir);
}

void KernelPrimer::Stop() {
  stopping_ = true;
  pool_.Stop();
}

void KernelPrimer::PrimeSubtree(fuse_ino_t top) {
  // The mount itself, not what may since have been mounted over it.
  UniqueFd root(::open(options_.mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct statfs fs {};
  if (!root.valid() || ::fstatfs(root.get(), &fs) != 0 || fs.f_type != kFuseSuperMagic) {
    return claims_.Release(top);
  }
  // Claimed as they come up, not when found: a scan's threads in a subtree
  // further on claim it for a walk of their own, in parallel.
  std::vector<fuse_ino_t> stack{top};
  size_t budget = options_.dirs_per_scan;
  bool first = true;  // claimed by NoteLookup
  while (!stack.empty() && budget > 0 && !stopping_) {
    fuse_ino_t dir = stack.back();
    stack.pop_back();
    if (!std::exchange(first, false) && !claims_.Claim(dir)) continue;
    auto v = table_->Get(dir);
    if (!v || !v->attached) continue;
    if (int err = ListIntoKernel(root.get(), v->path)) {
      claims_.Release(dir);
      // The farm away or the mount going: the scan's own lookups answer
      // what is left. Otherwise (a path too long to open, a directory
      // replaced meanwhile) its subtree is left to them.
      if (err == EIO || err == ENOTCONN || err == EINTR) break;
      continue;
    }
    --budget;
    primed_.fetch_add(1, std::memory_order_relaxed);
    // Git's own directory is read by name (HEAD, the index, an object):
    // listing its object store ahead would only cost.
    if (v->path == ".git" || v->path.starts_with(".git/")) continue;
    // Pre-order, in name order: the order of git's index and of a walk.
    auto subdirs = table_->Subdirs(dir);
    stack.insert(stack.end(), subdirs.rbegin(), subdirs.rend());
  }
}

int KernelPrimer::ListIntoKernel(int root_fd, const std::string& path) {
  // Resolved beneath the mount and through directories only: a component
  // replaced by a symlink on the farm meanwhile is refused, not followed.
  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root_fd, path.empty() ? "." : path.c_str(), &how, sizeof how)));
  if (!fd.valid()) return errno;
  std::vector<char> buf(64 << 10);
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd.get(), buf.data(), buf.size());
    if (n == 0) {
      // Reading a directory drops the kernel's cached atime of it, so the
      // scan's own lstat of it would ask fsd, one at a time in git's
      // untracked-files pass; asking here keeps that off the scan's path.
      struct stat st;
      return ::fstat(fd.get(), &st) == 0 ? 0 : errno;
    }
    if (n < 0) return errno;
  }
}

}  // namespace cifs
