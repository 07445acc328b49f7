#include "store/rocksdb_store.h"

#include "common/clock.h"
#include "common/files.h"
#include "store/digest_check.h"
#include "store/disk_reserve.h"
#include "store/rocks_status.h"

#include <openssl/rand.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

namespace cifs {

namespace {

constexpr char kMetaCf[] = "blob_meta";
constexpr char kChunksCf[] = "blob_chunks";
constexpr char kUploadsCf[] = "uploads";
constexpr char kActionCacheCf[] = "action_cache";
// How long Open waits for a LOCK another (dying) process still holds.
constexpr auto kLockWait = std::chrono::seconds(10);

std::string ChunkKey(const std::string& key, uint64_t gen, uint32_t index) {
  std::string k = key;
  PutBe(&k, gen, 8);
  PutBe(&k, index, 4);
  return k;
}

std::string GenKey(uint64_t gen) {
  std::string k;
  PutBe(&k, gen, 8);
  return k;
}

uint64_t RandomGeneration() {
  uint64_t g = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&g), sizeof g);
  return g == 0 ? 1 : g;
}

struct MetaValue {
  int64_t size = 0;
  uint64_t gen = 0;
  uint32_t pins = 0;
  int64_t last_use_s = 0;
  bool in_file = false;
};

std::string EncodeMeta(const MetaValue& m) {
  std::string v;
  PutBe(&v, static_cast<uint64_t>(m.size), 8);
  PutBe(&v, m.gen, 8);
  PutBe(&v, m.pins, 4);
  PutBe(&v, static_cast<uint64_t>(m.last_use_s), 8);
  v.push_back(m.in_file ? 'f' : 'c');
  return v;
}

bool DecodeMeta(std::string_view v, MetaValue* m) {
  if (v.size() != 29) return false;
  m->size = static_cast<int64_t>(GetBe(v, 0, 8));
  m->gen = GetBe(v, 8, 8);
  m->pins = static_cast<uint32_t>(GetBe(v, 16, 4));
  m->last_use_s = static_cast<int64_t>(GetBe(v, 20, 8));
  m->in_file = v[28] == 'f';
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// Writers hash what they are given and hand the verdict to FinishUpload;
// subclasses only decide where the bytes go.

class VerifyingBlobWriter : public BlobWriter {
 public:
  VerifyingBlobWriter(RocksDbStore* store, Digest digest, uint64_t gen)
      : store_(store), check_(std::move(digest)), key_(DigestKey(check_.digest())), gen_(gen) {}

  ~VerifyingBlobWriter() override {
    if (!done_ && !inline_chunk()) store_->DiscardGeneration(key_, gen_);
  }

  Status Append(std::string_view data) override {
    if (done_) return Status::FailedPrecondition("write already finished");
    CIFS_RETURN_IF_ERROR(check_.Add(data));
    return Store(data);
  }

  int64_t bytes_written() const override { return check_.written(); }

  Status Commit() override {
    if (done_) return Status::FailedPrecondition("write already finished");
    CIFS_RETURN_IF_ERROR(check_.CheckSize());
    CIFS_RETURN_IF_ERROR(FlushPending());
    done_ = true;
    Status verdict = check_.CheckHash();
    Status s = store_->FinishUpload(key_, check_.digest().size, gen_, verdict.ok(), file_descriptor(), inline_chunk());
    return verdict.ok() ? s : verdict;
  }

 protected:
  virtual Status Store(std::string_view data) = 0;
  virtual Status FlushPending() { return Status::Ok(); }
  virtual int file_descriptor() const { return -1; }
  // A blob of one chunk is committed with its chunk in one batch: nothing is
  // written before, so nothing needs discarding.
  virtual const std::string* inline_chunk() const { return nullptr; }

  RocksDbStore* store_;
  DigestCheck check_;
  std::string key_;
  uint64_t gen_;

 private:
  bool done_ = false;
};

// Small blobs: chunks in RocksDB under the upload's generation.
class RocksBlobWriter : public VerifyingBlobWriter {
 public:
  RocksBlobWriter(RocksDbStore* store, Digest digest, uint64_t gen, bool single_chunk)
      : VerifyingBlobWriter(store, std::move(digest), gen), single_chunk_(single_chunk) {}

 protected:
  const std::string* inline_chunk() const override { return single_chunk_ ? &buffer_ : nullptr; }

  Status Store(std::string_view data) override {
    const size_t chunk = store_->options_.chunk_bytes;
    while (!data.empty()) {
      size_t take = std::min(chunk - buffer_.size(), data.size());
      buffer_.append(data.data(), take);
      data.remove_prefix(take);
      if (buffer_.size() == chunk) CIFS_RETURN_IF_ERROR(FlushPending());
    }
    return Status::Ok();
  }

  Status FlushPending() override {
    if (buffer_.empty() || single_chunk_) return Status::Ok();
    Status s = store_->WriteChunk(key_, gen_, next_index_++, buffer_);
    buffer_.clear();
    return s;
  }

 private:
  bool single_chunk_;
  std::string buffer_;
  uint32_t next_index_ = 0;
};

// ---------------------------------------------------------------------------
// Reader: reads chunks under a snapshot, so eviction cannot pull bytes away
// from a stream in flight.
//
// A blob of one chunk (every blob below the file threshold, as configured)
// is checked against its own hash the first time it is read after open,
// and not again: Debian's RocksDB computes its CRC32C in software, which
// cost more than SHA-256 with the CPU's SHA instructions, and on every
// read. Blobs of several chunks keep RocksDB's checksums.

class RocksBlobReader : public BlobReader {
 public:
  RocksBlobReader(RocksDbStore* store, std::string key, int64_t size, uint64_t gen, bool verified)
      : store_(store), db_(store->db_.get()), cf_(store->chunks_cf_), key_(std::move(key)), size_(size), gen_(gen),
        chunk_bytes_(store->options_.chunk_bytes), verified_(verified), snapshot_(db_->GetSnapshot()) {}
  ~RocksBlobReader() override { db_->ReleaseSnapshot(snapshot_); }

  int64_t size() const override { return size_; }

  Status Read(int64_t offset, size_t max_bytes, std::string* out) override {
    if (offset < 0 || offset > size_) return Status::OutOfRange("read offset beyond the blob's end");
    const bool one_chunk = size_ <= static_cast<int64_t>(chunk_bytes_);
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    ro.verify_checksums = !one_chunk;
    while (max_bytes > 0 && offset < size_) {
      uint32_t index = static_cast<uint32_t>(offset / static_cast<int64_t>(chunk_bytes_));
      size_t in_chunk = static_cast<size_t>(offset % static_cast<int64_t>(chunk_bytes_));
      if (index != cached_index_) {
        rocksdb::Status s = db_->Get(ro, cf_, ChunkKey(key_, gen_, index), &cached_);
        if (!s.ok()) return Status::DataLoss("blob chunk missing: " + s.ToString());
        cached_index_ = index;
        if (one_chunk && !verified_) {
          Digest want = DigestFromKey(key_);
          if (ComputeDigest(cached_) != want) {
            cached_index_ = UINT32_MAX;
            store_->DropDamaged(key_, gen_);
            return Status::DataLoss("blob " + want.ToString() +
                                    " is damaged in the store (its bytes no longer match their hash); dropped");
          }
          verified_ = true;
          store_->MarkVerified(key_, gen_);
        }
      }
      if (in_chunk >= cached_.size()) return Status::DataLoss("blob chunk shorter than expected");
      size_t take = std::min(max_bytes, cached_.size() - in_chunk);
      out->append(cached_, in_chunk, take);
      offset += static_cast<int64_t>(take);
      max_bytes -= take;
    }
    return Status::Ok();
  }

 private:
  RocksDbStore* store_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::string key_;
  int64_t size_;
  uint64_t gen_;
  size_t chunk_bytes_;
  bool verified_;
  const rocksdb::Snapshot* snapshot_;
  std::string cached_;
  uint32_t cached_index_ = UINT32_MAX;
};

// ---------------------------------------------------------------------------
// Large blobs: written straight to a temporary file, published by rename.

class FileBlobWriter : public VerifyingBlobWriter {
 public:
  FileBlobWriter(RocksDbStore* store, Digest digest, uint64_t gen, int fd)
      : VerifyingBlobWriter(store, std::move(digest), gen), fd_(fd) {}
  ~FileBlobWriter() override { ::close(fd_); }

 protected:
  Status Store(std::string_view data) override { return WriteAll(fd_, data.data(), data.size()); }
  int file_descriptor() const override { return fd_; }

 private:
  int fd_;
};

class FileBlobReader : public BlobReader {
 public:
  FileBlobReader(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~FileBlobReader() override { ::close(fd_); }
  int64_t size() const override { return size_; }
  Status Read(int64_t offset, size_t max_bytes, std::string* out) override {
    if (offset < 0 || offset > size_) return Status::OutOfRange("read offset beyond the blob's end");
    size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(max_bytes), size_ - offset));
    size_t start = out->size();
    out->resize(start + want);
    ssize_t got = PreadFull(fd_, out->data() + start, want, offset);
    if (got < 0) {
      out->resize(start);
      return Status::IoError("cannot read blob file", errno);
    }
    out->resize(start + static_cast<size_t>(got));
    return static_cast<size_t>(got) == want ? Status::Ok() : Status::DataLoss("blob file is short");
  }

 private:
  int fd_;
  int64_t size_;
};

// ---------------------------------------------------------------------------

Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const RocksDbStoreOptions& options) {
  auto store = std::make_unique<RocksDbStore>(Passkey(), options);
  CIFS_RETURN_IF_ERROR(store->OpenDb());
  store->files_ = std::make_unique<BlobFiles>(options.path + "/files");
  CIFS_RETURN_IF_ERROR(store->files_->Init());
  CIFS_RETURN_IF_ERROR(store->RecoverUploads());
  CIFS_RETURN_IF_ERROR(store->LoadIndex());
  return store;
}

RocksDbStore::~RocksDbStore() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

Status RocksDbStore::OpenDb() {
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  dbo.max_background_jobs = 2;
  // Bounds memtable memory across all families: a multi-GiB upload must not
  // grow the farm's resident memory.
  dbo.db_write_buffer_size = 32 << 20;

  // Keys are content hashes: every new file overlaps all the others, so
  // leveled compaction rewrote the whole of L1 for each few flushes (a cold
  // read of 38,000 files spent 2.6 s of fsd's CPU there). Universal
  // compaction merges runs of like size instead. A leveled store opens as
  // is: its levels are runs to it.
  rocksdb::ColumnFamilyOptions small;
  small.write_buffer_size = 8 << 20;
  small.max_write_buffer_number = 2;
  small.compaction_style = rocksdb::kCompactionStyleUniversal;
  rocksdb::ColumnFamilyOptions chunks = small;
  // Every value goes to a blob file, so compaction moves keys, never file
  // content; garbage collection moves what eviction left alive in old files.
  chunks.enable_blob_files = true;
  chunks.min_blob_size = 0;
  chunks.blob_file_size = 256 << 20;
  chunks.enable_blob_garbage_collection = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, small}, {kMetaCf, small}, {kChunksCf, chunks},
      {kUploadsCf, small}, {kActionCacheCf, small}};
  rocksdb::DB* raw = nullptr;
  // A process killed a moment ago may still hold the LOCK while the kernel
  // tears it down (kill -9 returns before the process is gone): wait for it
  // a little rather than fail a restart.
  const auto deadline = std::chrono::steady_clock::now() + kLockWait;
  rocksdb::Status s;
  for (;;) {
    s = rocksdb::DB::Open(dbo, options_.path, cfs, &handles_, &raw);
    bool locked = s.IsIOError() && s.ToString().find("LOCK") != std::string::npos;
    if (s.ok() || !locked || std::chrono::steady_clock::now() >= deadline) break;
    handles_.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!s.ok()) return FromRocks(s, "cannot open content store at " + options_.path);
  db_.reset(raw);
  meta_cf_ = handles_[1];
  chunks_cf_ = handles_[2];
  uploads_cf_ = handles_[3];
  ac_cf_ = handles_[4];
  return Status::Ok();
}

Status RocksDbStore::RecoverUploads() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), uploads_cf_));
  std::vector<std::pair<std::string, uint64_t>> leftovers;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8 || it->value().size() != 40) continue;
    leftovers.emplace_back(it->value().ToString(), GetBe(it->key().ToStringView(), 0, 8));
  }
  for (auto& [key, gen] : leftovers) {
    DiscardGeneration(key, gen);
    // A crash between publishing a file and committing its record leaves a
    // file nobody knows: remove it unless another upload committed the blob.
    std::string meta;
    if (db_->Get(rocksdb::ReadOptions(), meta_cf_, key, &meta).IsNotFound()) files_->RemoveFinal(key);
  }
  recovered_partial_uploads_ = static_cast<int64_t>(leftovers.size());
  return Status::Ok();
}

Status RocksDbStore::LoadIndex() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
  std::vector<std::pair<int64_t, std::string>> by_use;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    MetaValue m;
    if (it->key().size() != 40 || !DecodeMeta(it->value().ToStringView(), &m)) continue;
    Entry e;
    e.size = m.size;
    e.gen = m.gen;
    e.pins = m.pins;
    e.last_use_s = m.last_use_s;
    e.in_file = m.in_file;
    std::string key = it->key().ToString();
    if (e.pins == 0) {
      by_use.emplace_back(e.last_use_s, key);
      cache_bytes_ += e.size;
    } else {
      pinned_bytes_ += e.size;
    }
    index_.Insert(key, e);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "cannot read content index");
  std::sort(by_use.begin(), by_use.end());
  for (auto& [t, key] : by_use) {
    lru_.push_front(key);
    index_.Find(key)->lru = lru_.begin();
  }
  return Status::Ok();
}

void RocksDbStore::TouchLocked(Entry& e, int64_t now_s) {
  // Moving a node to the front touches its neighbours' cache lines too; an
  // entry used within the last few seconds is near the front already, so
  // hot digests (asked for by every build) cost one lookup and no splice.
  if (e.pins == 0 && now_s - e.last_use_s >= options_.lru_promote_after_s) lru_.splice(lru_.begin(), lru_, e.lru);
  e.last_use_s = now_s;
}

std::vector<size_t> RocksDbStore::FindMissing(const std::vector<DigestRef>& digests) {
  std::vector<size_t> missing;
  const int64_t now = NowSeconds();
  // Keys first, so lookups can prefetch the slots of the ones a few ahead.
  constexpr size_t kAhead = 8;
  std::vector<std::array<char, 40>> keys(digests.size());
  for (size_t i = 0; i < digests.size(); ++i) DigestKeyInto(digests[i], keys[i].data());
  auto key = [&](size_t i) { return std::string_view(keys[i].data(), keys[i].size()); };
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < std::min(kAhead, keys.size()); ++i) index_.Prefetch(key(i));
  for (size_t i = 0; i < digests.size(); ++i) {
    if (i + kAhead < keys.size()) index_.Prefetch(key(i + kAhead));
    if (digests[i].size == 0) continue;  // the empty blob is always present
    Entry* e = index_.Find(key(i));
    if (!e) {
      missing.push_back(i);
    } else {
      TouchLocked(*e, now);
    }
  }
  return missing;
}

bool RocksDbStore::Contains(const Digest& digest) {
  if (digest.size == 0) return true;
  char buf[40];
  std::string_view key = DigestKeyInto(digest, buf);
  std::lock_guard lock(mu_);
  Entry* e = index_.Find(key);
  if (!e) return false;
  TouchLocked(*e, NowSeconds());
  return true;
}

Result<std::unique_ptr<BlobReader>> RocksDbStore::OpenRead(const Digest& digest) {
  std::string key = DigestKey(digest);
  std::lock_guard lock(mu_);
  if (digest.size == 0) return std::unique_ptr<BlobReader>(std::make_unique<RocksBlobReader>(this, key, 0, 0, true));
  Entry* e = index_.Find(key);
  if (!e) return Status::NotFound("blob " + digest.ToString() + " not found");
  TouchLocked(*e, NowSeconds());
  if (e->in_file) {
    // Opened under the lock: eviction may unlink the name, never our bytes.
    auto fd = files_->OpenFinal(key);
    if (!fd.ok()) return Status::DataLoss("blob " + digest.ToString() + " lost its file: " + fd.status().message());
    return std::unique_ptr<BlobReader>(std::make_unique<FileBlobReader>(*fd, e->size));
  }
  return std::unique_ptr<BlobReader>(std::make_unique<RocksBlobReader>(this, key, e->size, e->gen, e->verified));
}

void RocksDbStore::MarkVerified(const std::string& key, uint64_t gen) {
  std::lock_guard lock(mu_);
  Entry* e = index_.Find(key);
  if (e && e->gen == gen) e->verified = true;
}

void RocksDbStore::DropDamaged(const std::string& key, uint64_t gen) {
  std::lock_guard lock(mu_);
  Entry* e = index_.Find(key);
  if (!e || e->gen != gen) return;
  DeleteLocked(key, *e);
  ++damaged_;
}

Result<std::string> RocksDbStore::Get(const Digest& digest) { return GetByStreaming(*this, digest); }

Result<std::unique_ptr<BlobWriter>> RocksDbStore::OpenWrite(const Digest& digest) {
  CIFS_RETURN_IF_ERROR(ValidateDigest(digest.hash, digest.size));
  if (Contains(digest)) return Status::AlreadyExists("blob already present");
  CIFS_RETURN_IF_ERROR(CheckDiskReserve(options_.path, digest.size, options_.min_free_bytes));
  uint64_t gen = RandomGeneration();
  std::string key = DigestKey(digest);
  const bool single_chunk =
      digest.size <= static_cast<int64_t>(options_.chunk_bytes) && digest.size < options_.file_threshold_bytes;
  if (single_chunk) {
    return std::unique_ptr<BlobWriter>(std::make_unique<RocksBlobWriter>(this, digest, gen, true));
  }
  CIFS_RETURN_IF_ERROR(BeginUpload(gen, key));
  if (digest.size >= options_.file_threshold_bytes) {
    auto fd = files_->CreateTemp(gen);
    if (!fd.ok()) {
      DiscardGeneration(key, gen);
      return fd.status();
    }
    return std::unique_ptr<BlobWriter>(std::make_unique<FileBlobWriter>(this, digest, gen, *fd));
  }
  return std::unique_ptr<BlobWriter>(std::make_unique<RocksBlobWriter>(this, digest, gen, false));
}

Status RocksDbStore::Put(const Digest& digest, std::string_view data) { return PutByStreaming(*this, digest, data); }

Status RocksDbStore::BeginUpload(uint64_t gen, const std::string& key) {
  return FromRocks(db_->Put(writes_, uploads_cf_, GenKey(gen), key), "cannot start upload");
}

Status RocksDbStore::WriteChunk(const std::string& key, uint64_t gen, uint32_t index, std::string_view data) {
  return FromRocks(db_->Put(writes_, chunks_cf_, ChunkKey(key, gen, index), data),
                   "cannot store blob chunk");
}

void RocksDbStore::DiscardGeneration(const std::string& key, uint64_t gen) {
  rocksdb::WriteBatch batch;
  batch.DeleteRange(chunks_cf_, ChunkKey(key, gen, 0), ChunkKey(key, gen, UINT32_MAX));
  batch.Delete(uploads_cf_, GenKey(gen));
  db_->Write(writes_, &batch);
  files_->RemoveTemp(gen);
}

Status RocksDbStore::PutMetaLocked(const std::string& key, const Entry& e, rocksdb::WriteBatch* batch) {
  MetaValue m{e.size, e.gen, e.pins, e.last_use_s, e.in_file};
  return FromRocks(batch->Put(meta_cf_, key, EncodeMeta(m)), "cannot encode blob meta");
}

Status RocksDbStore::FinishUpload(const std::string& key, int64_t size, uint64_t gen, bool verified, int fd,
                                  const std::string* inline_chunk) {
  if (!verified) {
    if (!inline_chunk) DiscardGeneration(key, gen);
    std::lock_guard lock(mu_);
    ++rejected_;
    return Status::InvalidArgument("digest mismatch");
  }
  {
    std::lock_guard lock(mu_);
    if (index_.Find(key)) {
      // Another writer committed the same content first; ours is redundant.
      if (!inline_chunk) DiscardGeneration(key, gen);
      return Status::Ok();
    }
    Entry e;
    e.size = size;
    e.gen = gen;
    e.last_use_s = NowSeconds();
    e.in_file = fd >= 0;
    if (e.in_file) {
      Status p = files_->Publish(gen, key, fd, options_.sync_commits);
      if (!p.ok()) {
        DiscardGeneration(key, gen);
        return p;
      }
    }
    rocksdb::WriteBatch batch;
    if (inline_chunk) {
      if (!inline_chunk->empty()) batch.Put(chunks_cf_, ChunkKey(key, gen, 0), *inline_chunk);
    } else {
      batch.Delete(uploads_cf_, GenKey(gen));
    }
    CIFS_RETURN_IF_ERROR(PutMetaLocked(key, e, &batch));
    rocksdb::WriteOptions wo = writes_;
    wo.sync = options_.sync_commits;
    Status s = FromRocks(db_->Write(wo, &batch), "cannot commit blob");
    if (!s.ok()) {
      if (!inline_chunk) DiscardGeneration(key, gen);
      if (e.in_file) files_->RemoveFinal(key);
      return s;
    }
    lru_.push_front(key);
    e.lru = lru_.begin();
    index_.Insert(key, e);
    cache_bytes_ += size;
    EvictLocked();
  }
  return Status::Ok();
}

void RocksDbStore::EvictLocked() {
  while (cache_bytes_ > options_.cache_limit_bytes && !lru_.empty()) {
    std::string key = lru_.back();
    Entry* e = index_.Find(key);
    if (!e) {
      lru_.pop_back();
      continue;
    }
    DeleteLocked(key, *e);
    ++evicted_;
  }
}

void RocksDbStore::DeleteLocked(const std::string& key, Entry& e) {
  if (e.pins > 0) {
    pinned_bytes_ -= e.size;
  } else {
    lru_.erase(e.lru);
    cache_bytes_ -= e.size;
  }
  RemoveBlobLocked(key, e);
  index_.Erase(key);
}

void RocksDbStore::RemoveBlobLocked(const std::string& key, const Entry& e) {
  rocksdb::WriteBatch batch;
  batch.Delete(meta_cf_, key);
  if (!e.in_file) batch.DeleteRange(chunks_cf_, ChunkKey(key, e.gen, 0), ChunkKey(key, e.gen, UINT32_MAX));
  db_->Write(writes_, &batch);
  if (e.in_file) files_->RemoveFinal(key);
}

Status RocksDbStore::Pin(const Digest& digest) {
  std::string key = DigestKey(digest);
  std::lock_guard lock(mu_);
  Entry* found = index_.Find(key);
  if (!found) return Status::NotFound("cannot pin missing blob " + digest.ToString());
  Entry& e = *found;
  if (e.pins == 0) {
    lru_.erase(e.lru);
    cache_bytes_ -= e.size;
    pinned_bytes_ += e.size;
  }
  ++e.pins;
  rocksdb::WriteBatch batch;
  CIFS_RETURN_IF_ERROR(PutMetaLocked(key, e, &batch));
  return FromRocks(db_->Write(writes_, &batch), "cannot pin blob");
}

Status RocksDbStore::Unpin(const Digest& digest) {
  std::string key = DigestKey(digest);
  std::lock_guard lock(mu_);
  Entry* found = index_.Find(key);
  if (!found || found->pins == 0) {
    return Status::FailedPrecondition("blob " + digest.ToString() + " is not pinned");
  }
  Entry& e = *found;
  --e.pins;
  if (e.pins == 0) {
    lru_.push_front(key);
    e.lru = lru_.begin();
    pinned_bytes_ -= e.size;
    cache_bytes_ += e.size;
  }
  rocksdb::WriteBatch batch;
  CIFS_RETURN_IF_ERROR(PutMetaLocked(key, e, &batch));
  Status s = FromRocks(db_->Write(writes_, &batch), "cannot unpin blob");
  EvictLocked();
  return s;
}

ContentStoreStats RocksDbStore::Stats() {
  std::lock_guard lock(mu_);
  ContentStoreStats s;
  s.blobs = static_cast<int64_t>(index_.size());
  s.cache_bytes = cache_bytes_;
  s.pinned_bytes = pinned_bytes_;
  s.cache_limit_bytes = options_.cache_limit_bytes;
  s.evicted_blobs = evicted_;
  s.damaged_blobs = damaged_;
  s.rejected_writes = rejected_;
  return s;
}

namespace {

std::string AcKey(const std::string& tier, const std::string& instance, const Digest& action) {
  return tier + '\0' + instance + '\0' + DigestKey(action);
}

// Every key of `tier` starts with this and sorts before TierEnd(tier).
std::string TierBegin(const std::string& tier) { return tier + '\0'; }
std::string TierEnd(const std::string& tier) { return tier + '\1'; }

}  // namespace

Result<std::optional<std::string>> RocksDbStore::Get(const std::string& tier, const std::string& instance,
                                                     const Digest& action) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ac_cf_, AcKey(tier, instance, action), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "cannot read action cache");
  return std::optional<std::string>(std::move(value));
}

Status RocksDbStore::Put(const std::string& tier, const std::string& instance, const Digest& action,
                         const std::string& result) {
  return FromRocks(db_->Put(writes_, ac_cf_, AcKey(tier, instance, action), result),
                   "cannot write action cache");
}

Result<int64_t> RocksDbStore::MoveTier(const std::string& from, const std::string& to) {
  const std::string begin = TierBegin(from), end = TierEnd(from);
  rocksdb::WriteBatch batch;
  int64_t moved = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), ac_cf_));
  for (it->Seek(begin); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    std::string rest = it->key().ToString().substr(begin.size());  // instance\0digest
    batch.Put(ac_cf_, TierBegin(to) + rest, it->value());
    ++moved;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "cannot read action cache");
  batch.DeleteRange(ac_cf_, begin, end);
  CIFS_RETURN_IF_ERROR(FromRocks(db_->Write(writes_, &batch), "cannot write action cache"));
  return moved;
}

Status RocksDbStore::DropTier(const std::string& tier) {
  return FromRocks(db_->DeleteRange(writes_, ac_cf_, TierBegin(tier), TierEnd(tier)),
                   "cannot write action cache");
}

}  // namespace cifs
