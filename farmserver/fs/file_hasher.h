// Content hashes of workspace files, remembered per inode while the file's
// size, mtime and ctime stay the same, so a second listing costs no reads.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cifs/v1/fs.pb.h"
#include "common/digest.h"
#include "farmserver/fs/workspace_dir.h"

namespace cifs {

// Copies what the mount needs out of an lstat result (no hash, no target).
void FillAttr(const struct stat& st, v1::Attr* attr);
int64_t CtimeNs(const struct stat& st);

class FileHasher {
 public:
  // Told of every file version it hashed and will remember: its digest, its
  // absolute path and its lstat (the farm's CAS serves such files; see
  // cache/workspace_files.h).
  using OnHashed = std::function<void(const Digest& digest, std::string path, const struct stat& st)>;
  FileHasher() = default;
  explicit FileHasher(OnHashed on_hashed) : on_hashed_(std::move(on_hashed)) {}

  // The hash remembered for this file version, if any (no reading).
  bool Known(const struct stat& st, std::string* hash);

  // What is remembered, as bytes to keep over a restart: each hash with the
  // inode, size, mtime and ctime that make it trustworthy. Hashing a large
  // tree again costs the farm seconds of CPU per cold mount after a restart.
  std::string Snapshot();
  // Remembers what a Snapshot held (of this machine's files, from before a
  // restart) and returns how many. A file changed since has another ctime, so
  // its entry is never used. Restored entries are told to on_hashed when a
  // listing first uses them, since only a listing knows a file's path.
  size_t Restore(std::string_view snapshot);

  // Stats `path` and fills `attr` with everything, the target of a symlink
  // included, and the hash of a file: hashing it if it is at most
  // `hash_limit` bytes, else only if remembered.
  int FullAttr(const WorkspaceDir& dir, std::string_view path, v1::Attr* attr, int64_t hash_limit = INT64_MAX);
  // The same for `name` in the open directory `dirfd` (a listing).
  int FullAttrAt(int dirfd, const std::string& name, v1::Attr* attr, int64_t hash_limit);

 private:
  // SHA-256 (hex) of the regular file `name` in `dirfd`, whose lstat is
  // `st`, never following a symlink. Returns 0 or an errno.
  int HashAt(int dirfd, const std::string& name, const struct stat& st, std::string* hash);
  // Known; with `untold`, also says whether the entry was restored and not
  // yet told to on_hashed, and marks it told.
  bool Known(const struct stat& st, std::string* hash, bool* untold);
  void Tell(int dirfd, const std::string& name, const struct stat& st, const std::string& hash);

  struct Key {
    dev_t dev;
    ino_t ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.ino * 1000003u ^ k.dev); }
  };
  struct Remembered {
    int64_t size, mtime_ns, ctime_ns;
    std::string hash;
    bool told = true;  // on_hashed heard of it (restored entries: not yet)
  };
  static constexpr size_t kMaxRemembered = 1 << 20;

  OnHashed on_hashed_;
  std::mutex mu_;
  std::unordered_map<Key, Remembered, KeyHash> known_;
};

}  // namespace cifs
