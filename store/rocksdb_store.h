// One RocksDB database holding the content store and the action cache.
//
// Layout (column families):
//   blob_meta   digest(40)            -> BlobMeta: size, generation, pins, last use
//   blob_chunks digest(40) gen(8) i(4)-> up to 1 MiB of a small blob (RocksDB blob files)
//   uploads     gen(8)                -> digest(40): a write in progress
//   action_cache tier\0 instance\0 digest(40) -> serialized ActionResult
// Blobs of at least file_threshold_bytes are plain files instead (blob_files.h).
//
// A blob's bytes are written under a fresh random generation; its meta record
// is written only after the bytes verified, so readers (and a restarted
// process) never see unverified data. Leftovers of unfinished uploads are
// found through the `uploads` records and deleted at open.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/action_cache.h"
#include "store/blob_files.h"
#include "store/blob_index.h"
#include "store/blob_key.h"
#include "store/content_store.h"

namespace cifs {

struct RocksDbStoreOptions {
  std::string path;
  int64_t cache_limit_bytes = 10LL << 30;  // unpinned blobs beyond this are evicted
  size_t chunk_bytes = 1 << 20;
  // Blobs this large or larger are stored as files: one write per byte
  // instead of WAL + memtable + flush, and no memtable memory.
  int64_t file_threshold_bytes = 1 << 20;
  // fsync every committed blob; without it a process crash still loses
  // nothing (the WAL is in the page cache), only a machine crash may.
  bool sync_commits = false;
  // A blob used again within this many seconds keeps its LRU position (see
  // TouchLocked); tests of exact LRU order set 0.
  int64_t lru_promote_after_s = 5;
  // New blobs are refused while the disk would keep less than this free, so
  // the database always has room for its own log and metadata (RocksDB turns
  // read-only when a write of its own hits a full disk).
  int64_t min_free_bytes = 512LL << 20;
};

class RocksDbStore : public ContentStore, public ActionCache {
 public:
  static Result<std::unique_ptr<RocksDbStore>> Open(const RocksDbStoreOptions& options);
  ~RocksDbStore() override;

  // ContentStore
  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override;
  bool Contains(const Digest& digest) override;
  Result<std::string> Get(const Digest& digest) override;
  Status Put(const Digest& digest, std::string_view data) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override;
  Status Pin(const Digest& digest) override;
  Status Unpin(const Digest& digest) override;
  ContentStoreStats Stats() override;

  // ActionCache
  Result<std::optional<std::string>> Get(const std::string& tier, const std::string& instance,
                                         const Digest& action) override;
  Status Put(const std::string& tier, const std::string& instance, const Digest& action,
             const std::string& result) override;
  Result<int64_t> MoveTier(const std::string& from, const std::string& to) override;
  Status DropTier(const std::string& tier) override;

  int64_t recovered_partial_uploads() const { return recovered_partial_uploads_; }

 private:
  friend class VerifyingBlobWriter;
  friend class RocksBlobWriter;
  friend class RocksBlobReader;

  struct Entry {
    int64_t size = 0;
    uint64_t gen = 0;
    uint32_t pins = 0;
    int64_t last_use_s = 0;
    bool in_file = false;
    // Read back since open and found to match its hash (see RocksBlobReader).
    bool verified = false;
    std::list<std::string>::iterator lru;  // valid when pins == 0
  };

  // Only Open() can make one (passkey), yet std::make_unique works.
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  RocksDbStore(Passkey, RocksDbStoreOptions options) : options_(std::move(options)) {}

 private:
  Status OpenDb();
  Status LoadIndex();
  Status RecoverUploads();

  // Called by writers.
  Status BeginUpload(uint64_t gen, const std::string& key);
  Status WriteChunk(const std::string& key, uint64_t gen, uint32_t index, std::string_view data);
  // fd >= 0: a file upload, published by rename when verified.
  // inline_chunk: the whole blob, committed in the same batch as its record.
  Status FinishUpload(const std::string& key, int64_t size, uint64_t gen, bool verified, int fd,
                      const std::string* inline_chunk);
  void DiscardGeneration(const std::string& key, uint64_t gen);
  void RemoveBlobLocked(const std::string& key, const Entry& e);
  // Removes the blob and its entry, and takes it out of the byte counts.
  void DeleteLocked(const std::string& key, Entry& e);
  // Called by readers of one-chunk blobs after checking the bytes against
  // the hash: a match is not checked again, a mismatch is dropped (it can
  // then be stored again, or fetched again by fsd).
  void MarkVerified(const std::string& key, uint64_t gen);
  void DropDamaged(const std::string& key, uint64_t gen);

  void TouchLocked(Entry& e, int64_t now_s);
  void EvictLocked();
  Status PutMetaLocked(const std::string& key, const Entry& e, rocksdb::WriteBatch* batch);

  RocksDbStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions writes_;  // what every write uses
  std::unique_ptr<BlobFiles> files_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* chunks_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* uploads_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* ac_cf_ = nullptr;

  std::mutex mu_;
  BlobIndex<Entry> index_;
  std::list<std::string> lru_;                    // front = most recently used
  int64_t cache_bytes_ = 0;
  int64_t pinned_bytes_ = 0;
  int64_t evicted_ = 0;
  int64_t rejected_ = 0;
  int64_t damaged_ = 0;
  int64_t recovered_partial_uploads_ = 0;
};

}  // namespace cifs
