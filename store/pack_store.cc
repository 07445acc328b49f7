#include "store/pack_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/files.h"
#include "store/blob_key.h"
#include "store/digest_check.h"
#include "store/disk_reserve.h"
#include "store/rocks_status.h"

namespace cifs {

namespace {

constexpr size_t kKeyBytes = 40;
constexpr size_t kRecordKeyBytes = 8 + kKeyBytes;
constexpr size_t kVerifyStep = 1 << 20;
// How long Open waits for a lock a dying process still holds.
constexpr auto kLockWait = std::chrono::seconds(10);

std::string PackName(uint64_t id, const char* ext) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%010llu.%s", static_cast<unsigned long long>(id), ext);
  return buf;
}

// Records sort by pack, so a pack's records are one range.
std::string RecordKey(uint64_t pack, std::string_view key = {}) {
  std::string k;
  k.reserve(kRecordKeyBytes);
  PutBe(&k, pack, 8);
  k.append(key);
  return k;
}

}  // namespace

struct PackStore::Pack {
  uint64_t id = 0;
  std::string data_path;
  UniqueFd data;
  int64_t end = 0;   // bytes written or reserved
  std::vector<std::array<char, kKeyBytes>> keys;  // every blob recorded here, for eviction
};

// ---------------------------------------------------------------------------

class PackBlobWriter : public BlobWriter {
 public:
  PackBlobWriter(PackStore* store, Digest digest, PackStore::Slot slot)
      : store_(store), check_(std::move(digest)), slot_(std::move(slot)) {}

  Status Append(std::string_view data) override {
    if (done_) return Status::FailedPrecondition("write already finished");
    const int64_t at = slot_.offset + check_.written();
    CIFS_RETURN_IF_ERROR(check_.Add(data));
    if (!PwriteFull(slot_.pack->data.get(), data.data(), data.size(), at)) {
      return Status::IoError("cannot write to " + slot_.pack->data_path, errno);
    }
    return Status::Ok();
  }

  int64_t bytes_written() const override { return check_.written(); }

  Status Commit() override {
    if (done_) return Status::FailedPrecondition("write already finished");
    CIFS_RETURN_IF_ERROR(check_.CheckSize());
    done_ = true;
    if (Status verdict = check_.CheckHash(); !verdict.ok()) {
      store_->CountRejected();
      return verdict;
    }
    char key[kKeyBytes];
    return store_->Publish(DigestKeyInto(check_.digest(), key), slot_);
  }

 private:
  PackStore* store_;
  DigestCheck check_;
  PackStore::Slot slot_;
  bool done_ = false;
};

class PackBlobReader : public BlobReader {
 public:
  PackBlobReader(PackStore* store, std::string_view key, PackStore::Slot slot, int64_t size, bool verified)
      : store_(store), key_(key), slot_(std::move(slot)), size_(size), verified_(verified) {}

  int64_t size() const override { return size_; }

  Status Read(int64_t offset, size_t max_bytes, std::string* out) override {
    if (offset < 0 || offset > size_) return Status::OutOfRange("read offset beyond the blob's end");
    if (!verified_) CIFS_RETURN_IF_ERROR(Verify());
    if (offset == size_) return Status::Ok();
    size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(max_bytes), size_ - offset));
    size_t old = out->size();
    out->resize(old + n);
    ssize_t got = PreadFull(slot_.pack->data.get(), out->data() + old, n, slot_.offset + offset);
    if (got != static_cast<ssize_t>(n)) {
      out->resize(old);
      return Lost(got < 0 ? std::strerror(errno) : "its pack ends early");
    }
    return Status::Ok();
  }

 private:
  // The first read after open hashes the whole blob before serving any of it.
  Status Verify() {
    Sha256 hash;
    std::string buf(static_cast<size_t>(std::min<int64_t>(size_, kVerifyStep)), '\0');
    for (int64_t at = 0; at < size_;) {
      size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), size_ - at));
      ssize_t got = PreadFull(slot_.pack->data.get(), buf.data(), n, slot_.offset + at);
      if (got != static_cast<ssize_t>(n)) return Lost(got < 0 ? std::strerror(errno) : "its pack ends early");
      hash.Update(std::string_view(buf.data(), n));
      at += static_cast<int64_t>(n);
    }
    if (hash.FinishHex() != DigestFromKey(key_).hash) return Lost("its bytes no longer match its hash");
    store_->MarkVerified(key_, slot_.pack->id, slot_.offset);
    verified_ = true;
    return Status::Ok();
  }

  Status Lost(const std::string& why) {
    store_->DropDamaged(key_, slot_.pack->id, slot_.offset);
    return Status::DataLoss("blob " + DigestFromKey(key_).ToString() + " in " + slot_.pack->data_path +
                            " is damaged (" + why + "); it was dropped");
  }

  PackStore* store_;
  std::string key_;
  PackStore::Slot slot_;
  int64_t size_;
  bool verified_;
};

class EmptyBlobReader : public BlobReader {
 public:
  int64_t size() const override { return 0; }
  Status Read(int64_t, size_t, std::string*) override { return Status::Ok(); }
};

// ---------------------------------------------------------------------------

PackStore::PackStore(Passkey, PackStoreOptions options)
    : options_(std::move(options)),
      pack_bytes_(std::max<int64_t>(64 << 10, std::min(options_.pack_bytes, options_.cache_limit_bytes / 8))) {}

PackStore::~PackStore() {
  // Close flushes the records still in memory (there is no log to replay).
  if (records_) (void)records_->Close();
}

Result<std::unique_ptr<PackStore>> PackStore::Open(const PackStoreOptions& options) {
  auto store = std::make_unique<PackStore>(Passkey(), options);
  CIFS_RETURN_IF_ERROR(MakeDirs(options.path, 0700));
  CIFS_RETURN_IF_ERROR(store->Lock());
  CIFS_RETURN_IF_ERROR(store->OpenRecords());
  CIFS_RETURN_IF_ERROR(store->Load());
  return store;
}

Status PackStore::Lock() {
  std::string path = options_.path + "/LOCK";
  lock_fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_fd_.valid()) return Status::IoError("cannot open " + path, errno);
  // A process killed a moment ago may hold the lock until the kernel has
  // torn it down: wait a little rather than fail a restart.
  const auto deadline = std::chrono::steady_clock::now() + kLockWait;
  while (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return Status::IoError("cannot lock " + path, errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::FailedPrecondition("the store at " + options_.path + " is in use by another process");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Ok();
}

Status PackStore::OpenRecords() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_background_jobs = 1;
  o.write_buffer_size = 4 << 20;
  writes_.disableWAL = true;  // see the header: a crash loses records, never bytes of another blob
  rocksdb::DB* raw = nullptr;
  CIFS_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(o, options_.path + "/records", &raw),
                                 "cannot open the blob records in " + options_.path));
  records_.reset(raw);
  return Status::Ok();
}

Status PackStore::Load() {
  std::map<uint64_t, std::shared_ptr<Pack>> files;
  auto names = ListDirNames(options_.path);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    unsigned long long id = 0;
    char ext[8] = {};
    if (std::sscanf(name.c_str(), "%20llu.%5s", &id, ext) != 2 || id == 0 || std::strcmp(ext, "pack") != 0) continue;
    auto pack = std::make_shared<Pack>();
    pack->id = id;
    pack->data_path = options_.path + "/" + PackName(id, "pack");
    pack->data.reset(::open(pack->data_path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!pack->data.valid() || ::fstat(pack->data.get(), &st) != 0) {
      return Status::IoError("cannot open " + pack->data_path, errno);
    }
    pack->end = st.st_size;
    files.emplace(id, std::move(pack));
    next_id_ = std::max<uint64_t>(next_id_, id + 1);
  }
  std::vector<uint64_t> lost;  // records of packs whose file is gone
  std::unique_ptr<rocksdb::Iterator> it(records_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view rk = it->key().ToStringView();
    std::string_view value = it->value().ToStringView();
    if (rk.size() != kRecordKeyBytes || value.size() != 8) continue;
    uint64_t id = GetBe(rk, 0, 8);
    auto f = files.find(id);
    if (f == files.end()) {
      if (lost.empty() || lost.back() != id) lost.push_back(id);
      continue;
    }
    Pack& pack = *f->second;
    std::string_view key = rk.substr(8);
    auto offset = static_cast<int64_t>(GetBe(value, 0, 8));
    auto size = static_cast<int64_t>(GetBe(key, 32, 8));
    if (offset < 0 || size <= 0 || offset > pack.end - size) continue;
    index_.Insert(key, Entry{id, offset, false});  // packs come in id order: later copies win
    auto& k = pack.keys.emplace_back();
    std::memcpy(k.data(), key.data(), kKeyBytes);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "cannot read the blob records in " + options_.path);
  it.reset();
  for (uint64_t id : lost) {
    (void)records_->DeleteRange(writes_, records_->DefaultColumnFamily(), RecordKey(id), RecordKey(id + 1));
  }
  std::vector<std::shared_ptr<Pack>> gone;
  for (auto& [id, pack] : files) {
    if (pack->keys.empty()) {
      gone.push_back(std::move(pack));  // bytes nobody can find
      continue;
    }
    total_bytes_ += pack->end;
    packs_.emplace(id, std::move(pack));
  }
  {
    std::lock_guard lock(mu_);
    auto evicted = EvictLocked();  // the limit may be smaller than last time
    gone.insert(gone.end(), evicted.begin(), evicted.end());
    UpdateRefreshBoundLocked();
  }
  Forget(gone);
  return Status::Ok();
}

Status PackStore::RollLocked() {
  auto pack = std::make_shared<Pack>();
  pack->id = next_id_++;
  pack->data_path = options_.path + "/" + PackName(pack->id, "pack");
  pack->data.reset(::open(pack->data_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!pack->data.valid()) return Status::IoError("cannot create " + pack->data_path, errno);
  // The pack before stops taking blobs; its writers in flight keep their slots.
  current_ = pack;
  packs_.emplace(pack->id, std::move(pack));
  UpdateRefreshBoundLocked();
  return Status::Ok();
}

Result<PackStore::Slot> PackStore::Reserve(int64_t size) {
  std::vector<std::shared_ptr<Pack>> gone;
  Slot slot;
  {
    std::lock_guard lock(mu_);
    if (!current_ || current_->end >= pack_bytes_) CIFS_RETURN_IF_ERROR(RollLocked());
    slot = {current_, current_->end};
    current_->end += size;
    total_bytes_ += size;
    gone = EvictLocked();
  }
  Forget(gone);
  return slot;
}

std::vector<std::shared_ptr<PackStore::Pack>> PackStore::EvictLocked() {
  std::vector<std::shared_ptr<Pack>> gone;
  while (total_bytes_ > options_.cache_limit_bytes && !packs_.empty() && packs_.begin()->second != current_) {
    auto pack = std::move(packs_.begin()->second);
    packs_.erase(packs_.begin());
    for (const auto& k : pack->keys) {
      std::string_view key(k.data(), k.size());
      Entry* e = index_.Find(key);
      if (e && e->pack == pack->id) {
        index_.Erase(key);
        ++evicted_;
      }
    }
    total_bytes_ -= pack->end;
    gone.push_back(std::move(pack));
  }
  if (!gone.empty()) UpdateRefreshBoundLocked();
  return gone;
}

void PackStore::UpdateRefreshBoundLocked() {
  refresh_below_ = 0;
  // Far from the limit nothing is about to go: no copies.
  if (total_bytes_ < options_.cache_limit_bytes / 4 * 3) return;
  int64_t oldest = 0;
  for (const auto& [id, pack] : packs_) {
    if (pack == current_ || oldest + pack->end > options_.cache_limit_bytes / 4) break;
    oldest += pack->end;
    refresh_below_ = id + 1;
  }
}

void PackStore::Forget(const std::vector<std::shared_ptr<Pack>>& packs) {
  // Readers holding a pack keep its bytes: only the name goes. A record
  // written for it after this is found without its pack at the next open.
  for (const auto& p : packs) {
    ::unlink(p->data_path.c_str());
    (void)records_->DeleteRange(writes_, records_->DefaultColumnFamily(), RecordKey(p->id), RecordKey(p->id + 1));
  }
}

Status PackStore::Publish(std::string_view key, const Slot& slot) {
  std::string offset;
  PutBe(&offset, static_cast<uint64_t>(slot.offset), 8);
  // Recorded first, outside the lock: a record of bytes that verified is
  // never wrong, even for a copy the index below turns out not to need.
  CIFS_RETURN_IF_ERROR(FromRocks(records_->Put(writes_, RecordKey(slot.pack->id, key), offset),
                                 "cannot record a blob in " + options_.path));
  std::lock_guard lock(mu_);
  // Evicted while its bytes were written: as if evicted right after.
  if (!packs_.count(slot.pack->id)) return Status::Ok();
  // Another writer's copy came first: keep it, unless ours is in a newer pack
  // (a refresh), which keeps the blob longer.
  if (Entry* e = index_.Find(key); e && e->pack >= slot.pack->id) return Status::Ok();
  index_.Insert(key, Entry{slot.pack->id, slot.offset, true});
  auto& k = slot.pack->keys.emplace_back();
  std::memcpy(k.data(), key.data(), kKeyBytes);
  return Status::Ok();
}

void PackStore::CountRejected() {
  std::lock_guard lock(mu_);
  ++rejected_;
}

void PackStore::MarkVerified(std::string_view key, uint64_t pack, int64_t offset) {
  std::lock_guard lock(mu_);
  Entry* e = index_.Find(key);
  if (e && e->pack == pack && e->offset == offset) e->verified = true;
}

void PackStore::DropDamaged(std::string_view key, uint64_t pack, int64_t offset) {
  {
    std::lock_guard lock(mu_);
    Entry* e = index_.Find(key);
    if (!e || e->pack != pack || e->offset != offset) return;
    index_.Erase(key);
    ++damaged_;
  }
  (void)records_->Delete(writes_, RecordKey(pack, key));  // else dropped again after the next open
}

// ---------------------------------------------------------------------------

std::vector<size_t> PackStore::FindMissing(const std::vector<DigestRef>& digests) {
  std::vector<size_t> missing;
  char key[kKeyBytes];
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < digests.size(); ++i) {
    if (digests[i].size != 0 && !index_.Find(DigestKeyInto(digests[i], key))) missing.push_back(i);
  }
  return missing;
}

bool PackStore::Contains(const Digest& digest) {
  if (digest.size == 0) return true;
  char key[kKeyBytes];
  std::lock_guard lock(mu_);
  return index_.Find(DigestKeyInto(digest, key)) != nullptr;
}

Result<std::unique_ptr<BlobReader>> PackStore::OpenRead(const Digest& digest) {
  if (digest.size == 0) return std::unique_ptr<BlobReader>(std::make_unique<EmptyBlobReader>());
  char buf[kKeyBytes];
  std::string_view key = DigestKeyInto(digest, buf);
  Slot slot;
  bool verified = false;
  bool refresh = false;
  {
    std::lock_guard lock(mu_);
    Entry* e = index_.Find(key);
    if (!e) return Status::NotFound("blob " + digest.ToString() + " not found");
    auto it = packs_.find(e->pack);
    if (it == packs_.end()) return Status::Internal("blob " + digest.ToString() + " is indexed in no pack");
    slot = {it->second, e->offset};
    verified = e->verified;
    refresh = verified && e->pack < refresh_below_ && digest.size <= kRefreshMaxBytes;
  }
  if (refresh) Refresh(key, slot, digest.size);
  return std::unique_ptr<BlobReader>(std::make_unique<PackBlobReader>(this, key, std::move(slot), digest.size, verified));
}

void PackStore::Refresh(std::string_view key, const Slot& from, int64_t size) {
  // A copy that fails is no loss: the blob stays where it is until its pack goes.
  std::string bytes(static_cast<size_t>(size), '\0');
  if (PreadFull(from.pack->data.get(), bytes.data(), bytes.size(), from.offset) != size) return;
  auto to = Reserve(size);
  if (!to.ok() || !PwriteFull(to->pack->data.get(), bytes.data(), bytes.size(), to->offset)) return;
  (void)Publish(key, *to);  // best effort, as above
}

Result<std::string> PackStore::Get(const Digest& digest) { return GetByStreaming(*this, digest); }

Result<std::unique_ptr<BlobWriter>> PackStore::OpenWrite(const Digest& digest) {
  CIFS_RETURN_IF_ERROR(ValidateDigest(digest.hash, digest.size));
  if (Contains(digest)) return Status::AlreadyExists("blob already present");
  CIFS_RETURN_IF_ERROR(CheckDiskReserve(options_.path, digest.size, options_.min_free_bytes));
  auto slot = Reserve(digest.size);
  if (!slot.ok()) return slot.status();
  return std::unique_ptr<BlobWriter>(std::make_unique<PackBlobWriter>(this, digest, std::move(*slot)));
}

Status PackStore::Put(const Digest& digest, std::string_view data) { return PutByStreaming(*this, digest, data); }

Status PackStore::Pin(const Digest&) {
  return Status::FailedPrecondition("a pack store keeps only what can be fetched again: it cannot pin");
}

Status PackStore::Unpin(const Digest& digest) { return Pin(digest); }

ContentStoreStats PackStore::Stats() {
  std::lock_guard lock(mu_);
  ContentStoreStats s;
  s.blobs = static_cast<int64_t>(index_.size());
  s.cache_bytes = total_bytes_;
  s.cache_limit_bytes = options_.cache_limit_bytes;
  s.evicted_blobs = evicted_;
  s.rejected_writes = rejected_;
  s.damaged_blobs = damaged_;
  return s;
}

size_t PackStore::pack_count() {
  std::lock_guard lock(mu_);
  return packs_.size();
}

}  // namespace cifs
