// The content store: blobs addressed by their SHA-256 digest. Workspace files,
// Bazel inputs and Bazel outputs all live here, once each.
//
// Contract:
//  * Every blob is verified against its digest before it becomes visible; a
//    mismatch is refused and leaves nothing behind.
//  * Blobs stream in and out in bounded memory (BlobWriter / BlobReader).
//  * Unpinned blobs form a cache bounded in bytes, evicted least recently used
//    first (RocksDbStore exactly; PackStore a pack at a time, oldest first,
//    after copying forward what was read from its oldest quarter). Pinned
//    blobs (referenced by something, e.g. a workspace) are never evicted and
//    do not count against the bound.
//  * After a crash, only blobs whose bytes match their digest are served.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/status.h"

namespace cifs {

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual int64_t size() const = 0;
  // Appends up to max_bytes starting at offset to *out; 0 bytes at the end.
  virtual Status Read(int64_t offset, size_t max_bytes, std::string* out) = 0;
};

class BlobWriter {
 public:
  // Destroying a writer that was not committed discards what it wrote.
  virtual ~BlobWriter() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual int64_t bytes_written() const = 0;
  // Verifies size and hash and makes the blob visible. A mismatch discards it.
  virtual Status Commit() = 0;
};

struct ContentStoreStats {
  int64_t blobs = 0;
  int64_t cache_bytes = 0;   // unpinned
  int64_t pinned_bytes = 0;
  int64_t cache_limit_bytes = 0;
  int64_t evicted_blobs = 0;
  int64_t rejected_writes = 0;  // digest mismatches
  int64_t damaged_blobs = 0;    // read back not matching their hash, dropped
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  // Positions in `digests` of those the store does not hold. Counts as a use
  // of the present ones for eviction (a client asking is about to rely on
  // them). Digests must be valid (ValidateDigest).
  virtual std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) = 0;
  // The same for owned digests, returning the missing ones.
  std::vector<Digest> FindMissing(const std::vector<Digest>& digests) {
    std::vector<DigestRef> refs;
    refs.reserve(digests.size());
    for (const auto& d : digests) refs.push_back({d.hash, d.size});
    std::vector<Digest> missing;
    for (size_t i : FindMissing(refs)) missing.push_back(digests[i]);
    return missing;
  }
  virtual bool Contains(const Digest& digest) = 0;

  // Whole-blob convenience for small blobs.
  virtual Result<std::string> Get(const Digest& digest) = 0;
  virtual Status Put(const Digest& digest, std::string_view data) = 0;

  virtual Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) = 0;
  // AlreadyExists when the blob is present: nothing needs writing.
  virtual Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) = 0;

  // Reference counting against eviction.
  virtual Status Pin(const Digest& digest) = 0;
  virtual Status Unpin(const Digest& digest) = 0;

  virtual ContentStoreStats Stats() = 0;
};

// Get and Put for a store whose blobs stream (OpenRead / OpenWrite).
Result<std::string> GetByStreaming(ContentStore& store, const Digest& digest);
Status PutByStreaming(ContentStore& store, const Digest& digest, std::string_view data);

}  // namespace cifs
