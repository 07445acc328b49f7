// Workspace files as CAS content, without a second copy: the farm hashes
// workspace files anyway (for the mounts' listings), and remembers here where
// it last saw each digest. The store layer below answers FindMissingBlobs
// with them, so a developer's Bazel (or a farm build) never uploads a source
// file the farm already holds in a workspace; the first read of such a blob
// copies it into the store below, verified against its digest.
//
// A file counts only while its inode, size, mtime and ctime are what they
// were when hashed (the same rule as the hash cache), and its bytes are
// hashed again when read: an edit after hashing makes it missing, never
// wrong.
#pragma once

#include <sys/stat.h>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/digest.h"
#include "store/forwarding_store.h"

namespace cifs {

class WorkspaceFileIndex {
 public:
  // `path`: absolute, as the farm opened it; `st`: its lstat when hashed.
  void Remember(const Digest& digest, std::string path, const struct stat& st);
  // The file is still there as it was hashed (a stat, no reading).
  bool Has(const Digest& digest);
  // Its bytes, hashed again; nullopt if it changed or is gone.
  std::optional<std::string> Read(const Digest& digest);

 private:
  struct Seen {
    std::string path;
    dev_t dev;
    ino_t ino;
    int64_t size, mtime_ns, ctime_ns;
  };
  std::optional<Seen> Find(const Digest& digest);
  static bool Same(const Seen& seen, const struct stat& st);
  void Forget(const Digest& digest);

  static constexpr size_t kMaxEntries = 1 << 20;
  std::mutex mu_;
  std::unordered_map<std::string, Seen> by_hash_;
};

class WorkspaceFilesStore final : public ForwardingContentStore {
 public:
  WorkspaceFilesStore(ContentStore* base, WorkspaceFileIndex* files) : ForwardingContentStore(base), files_(files) {}

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override;
  bool Contains(const Digest& digest) override;
  Result<std::string> Get(const Digest& digest) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;

 private:
  // Copies a workspace file's bytes into the store below.
  bool Ingest(const Digest& digest);

  WorkspaceFileIndex* files_;
};

}  // namespace cifs
