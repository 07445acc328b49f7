#include "farmserver/fs/file_hasher.h"

#include <climits>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>

#include "common/clock.h"
#include "common/digest.h"

namespace cifs {
namespace {

int64_t Ns(const struct timespec& t) { return TimespecToNs(t); }

v1::Attr::Type TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return v1::Attr::FILE;
  if (S_ISDIR(mode)) return v1::Attr::DIRECTORY;
  if (S_ISLNK(mode)) return v1::Attr::SYMLINK;
  return v1::Attr::UNKNOWN;
}

constexpr std::string_view kSnapshotMagic = "cifs file hashes 1\n";
constexpr size_t kSnapshotRecordBytes = 5 * 8 + 64;

// A file changed this recently may change again within the same timestamp
// tick without its times moving (git's "racy" case): hash it, don't trust it.
constexpr int64_t kRacyWindowNs = 2'000'000'000;

}  // namespace

int64_t CtimeNs(const struct stat& st) { return Ns(st.st_ctim); }

void FillAttr(const struct stat& st, v1::Attr* attr) {
  attr->set_type(TypeOf(st.st_mode));
  attr->set_mode(st.st_mode & 07777);
  attr->set_size(st.st_size);
  attr->set_mtime_ns(Ns(st.st_mtim));
  attr->set_ctime_ns(Ns(st.st_ctim));
  attr->set_atime_ns(Ns(st.st_atim));
  attr->set_ino(st.st_ino);
  attr->set_nlink(static_cast<uint32_t>(st.st_nlink));
  attr->set_blocks(st.st_blocks);
}

bool FileHasher::Known(const struct stat& st, std::string* hash) { return Known(st, hash, nullptr); }

bool FileHasher::Known(const struct stat& st, std::string* hash, bool* untold) {
  std::lock_guard lock(mu_);
  auto it = known_.find(Key{st.st_dev, st.st_ino});
  if (it == known_.end() || it->second.size != st.st_size || it->second.mtime_ns != Ns(st.st_mtim) ||
      it->second.ctime_ns != Ns(st.st_ctim)) {
    return false;
  }
  *hash = it->second.hash;
  if (untold) {
    *untold = !it->second.told;
    it->second.told = true;
  }
  return true;
}

std::string FileHasher::Snapshot() {
  std::string out(kSnapshotMagic);
  std::lock_guard lock(mu_);
  out.reserve(out.size() + known_.size() * kSnapshotRecordBytes);
  for (const auto& [key, r] : known_) {
    uint64_t fields[5] = {static_cast<uint64_t>(key.dev), static_cast<uint64_t>(key.ino),
                          static_cast<uint64_t>(r.size), static_cast<uint64_t>(r.mtime_ns),
                          static_cast<uint64_t>(r.ctime_ns)};
    out.append(reinterpret_cast<const char*>(fields), sizeof fields);
    out.append(r.hash);
  }
  return out;
}

size_t FileHasher::Restore(std::string_view snapshot) {
  if (snapshot.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) return 0;
  snapshot.remove_prefix(kSnapshotMagic.size());
  size_t taken = 0;
  std::lock_guard lock(mu_);
  for (; snapshot.size() >= kSnapshotRecordBytes && known_.size() < kMaxRemembered;
       snapshot.remove_prefix(kSnapshotRecordBytes)) {
    uint64_t f[5];
    std::memcpy(f, snapshot.data(), sizeof f);
    std::string hash(snapshot.substr(sizeof f, 64));
    if (!ValidateDigest(hash, static_cast<int64_t>(f[2])).ok()) continue;  // not what Snapshot wrote
    Remembered r{static_cast<int64_t>(f[2]), static_cast<int64_t>(f[3]), static_cast<int64_t>(f[4]), std::move(hash),
                 false};
    known_.try_emplace(Key{static_cast<dev_t>(f[0]), static_cast<ino_t>(f[1])}, std::move(r));
    ++taken;
  }
  return taken;
}

void FileHasher::Tell(int dirfd, const std::string& name, const struct stat& st, const std::string& hash) {
  if (!on_hashed_) return;
  char dir[PATH_MAX];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(dirfd)).c_str(), dir, sizeof dir);
  if (n > 0) on_hashed_({hash, st.st_size}, std::string(dir, static_cast<size_t>(n)) + "/" + name, st);
}

int FileHasher::HashAt(int dirfd, const std::string& name, const struct stat& st, std::string* hash) {
  bool untold = false;
  if (Known(st, hash, &untold)) {
    if (untold) Tell(dirfd, name, st, *hash);
    return 0;
  }
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno;
  Sha256 sha;
  std::string buf(256 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    sha.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  *hash = sha.FinishHex();
  struct stat after;
  if (::fstat(fd.get(), &after) != 0) return errno;
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  bool stable = after.st_size == st.st_size && Ns(after.st_ctim) == Ns(st.st_ctim) && after.st_ino == st.st_ino;
  if (!stable) return EAGAIN;  // written (or replaced) while we read: the caller retries
  if (now - Ns(st.st_ctim) > kRacyWindowNs) {
    {
      std::lock_guard lock(mu_);
      if (known_.size() >= kMaxRemembered) known_.clear();
      known_[Key{st.st_dev, st.st_ino}] = Remembered{st.st_size, Ns(st.st_mtim), Ns(st.st_ctim), *hash};
    }
    Tell(dirfd, name, st, *hash);
  }
  return 0;
}

int FileHasher::FullAttrAt(int dirfd, const std::string& name, v1::Attr* attr, int64_t hash_limit) {
  for (int attempt = 0;; ++attempt) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    attr->Clear();
    FillAttr(st, attr);
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target, sizeof target);
      if (n < 0) return errno;
      attr->set_symlink_target(std::string(target, static_cast<size_t>(n)));
      return 0;
    }
    if (!S_ISREG(st.st_mode)) return 0;
    std::string hash;
    if (st.st_size > hash_limit) {
      if (Known(st, &hash)) attr->set_hash(hash);
      return 0;
    }
    int e = HashAt(dirfd, name, st, &hash);
    if ((e == EAGAIN || e == ELOOP) && attempt < 3) continue;  // changed under us: look again
    if (e) return e;
    attr->set_hash(hash);
    return 0;
  }
}

int FileHasher::FullAttr(const WorkspaceDir& dir, std::string_view path, v1::Attr* attr, int64_t hash_limit) {
  if (path.empty()) {
    struct stat st;
    if (int e = dir.Stat(path, &st)) return e;
    attr->Clear();
    FillAttr(st, attr);
    return 0;
  }
  UniqueFd parent;
  std::string name;
  if (int e = dir.OpenParent(path, &parent, &name)) return e;
  return FullAttrAt(parent.get(), name, attr, hash_limit);
}

}  // namespace cifs
