// A content store for blobs that can always be fetched again (fsd's copy of
// farm contents): blobs appended to large pack files, found through an
// in-memory index, evicted a whole pack at a time, oldest first. Buildbarn's
// local blobstore (a key-location map over a ring of blocks) is the model.
//
// Why not RocksDbStore: serving a tree fsd had already fetched spent 57 % of
// fsd's CPU in RocksDB's Get (index blocks, blob file reads, copies), and a
// cold read another 29 % in RocksDB's writes, flushes and compactions. Here a
// write is one pwrite plus a 48-byte index record, and a read is one pread.
// Nothing is pinned: everything here is a cache.
//
// Layout under `path`:
//   LOCK        flock'ed by the one process that may use the store
//   <id>.pack   blob bytes back to back (a writer that gives up leaves a hole)
//   records/    RocksDB: pack id (8) + blob key (40) -> offset (8), one per
//               blob copy, so a pack's records go in one range delete
//
// Crashes: a record is written after its blob's bytes, without a log (every
// blob can be fetched again: a crash loses the records since the last flush,
// never more). At open, a record whose bytes lie past its pack's end is
// dropped, and every blob is checked against its hash on its first read
// after open: bytes a machine crash lost are refused, dropped and fetched
// again, never served.
//
// Eviction: beyond the limit the oldest pack goes, with all of its blobs. A
// blob of at most kRefreshMaxBytes read from the oldest quarter of a nearly
// full store is first copied into the newest pack, so what is in use stays.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "common/unique_fd.h"
#include "store/blob_index.h"
#include "store/content_store.h"

namespace cifs {

struct PackStoreOptions {
  std::string path;
  int64_t cache_limit_bytes = 10LL << 30;
  // A pack takes new blobs until it holds this much; the store keeps at
  // least eight packs' worth under its limit, so small limits use smaller packs.
  int64_t pack_bytes = 128LL << 20;
  // New blobs are refused while the disk would keep less than this free.
  int64_t min_free_bytes = 256LL << 20;
};

class PackStore : public ContentStore {
 public:
  static constexpr int64_t kRefreshMaxBytes = 1 << 20;

  static Result<std::unique_ptr<PackStore>> Open(const PackStoreOptions& options);
  ~PackStore() override;

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override;
  bool Contains(const Digest& digest) override;
  Result<std::string> Get(const Digest& digest) override;
  Status Put(const Digest& digest, std::string_view data) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override;
  // A cache of refetchable blobs holds nothing it must keep: FailedPrecondition.
  Status Pin(const Digest& digest) override;
  Status Unpin(const Digest& digest) override;
  ContentStoreStats Stats() override;

  // Packs on disk (for tests and status).
  size_t pack_count();

  struct Pack;
  // Where a blob's bytes go or are: a pack kept open by whoever holds it, so
  // an evicted pack's bytes stay readable until the last reader lets go.
  struct Slot {
    std::shared_ptr<Pack> pack;
    int64_t offset = 0;
  };

 private:
  friend class PackBlobWriter;
  friend class PackBlobReader;

  struct Entry {
    uint64_t pack = 0;
    int64_t offset = 0;
    // Read back since open and found to match its hash; blobs written by
    // this process are checked as they are written.
    bool verified = false;
  };
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  PackStore(Passkey, PackStoreOptions options);

 private:
  Status Lock();
  Status OpenRecords();
  Status Load();
  // Room for `size` bytes at the end of the newest pack (a new pack when the
  // newest is full), evicting old packs beyond the limit.
  Result<Slot> Reserve(int64_t size);
  // Called by writers once the bytes at `slot` verified: the blob becomes
  // visible unless another writer's copy did first.
  Status Publish(std::string_view key, const Slot& slot);
  void CountRejected();
  // Called by readers: the blob at (pack, offset) matched its hash / did not.
  void MarkVerified(std::string_view key, uint64_t pack, int64_t offset);
  void DropDamaged(std::string_view key, uint64_t pack, int64_t offset);
  // Copies a blob from an old pack into the newest, unless it moved meanwhile.
  void Refresh(std::string_view key, const Slot& from, int64_t size);

  Status RollLocked();
  // Takes the oldest packs out of the index until the store fits its limit;
  // the caller unlinks their files once it let go of the lock.
  std::vector<std::shared_ptr<Pack>> EvictLocked();
  void UpdateRefreshBoundLocked();
  // Removes evicted packs' files and records, outside the lock.
  void Forget(const std::vector<std::shared_ptr<Pack>>& packs);

  PackStoreOptions options_;
  int64_t pack_bytes_;
  UniqueFd lock_fd_;
  std::unique_ptr<rocksdb::DB> records_;
  rocksdb::WriteOptions writes_;

  std::mutex mu_;
  BlobIndex<Entry> index_;
  std::map<uint64_t, std::shared_ptr<Pack>> packs_;  // by id: oldest first
  std::shared_ptr<Pack> current_;                    // the pack taking new blobs
  uint64_t next_id_ = 1;
  uint64_t refresh_below_ = 0;  // blobs read from packs with a smaller id are copied forward
  int64_t total_bytes_ = 0;     // every pack's end, holes and dead copies included
  int64_t evicted_ = 0;
  int64_t rejected_ = 0;
  int64_t damaged_ = 0;
};

}  // namespace cifs
