// The cluster cache's store layers (sharding, verifying, read-caching) over
// real RocksDB stores, with shards switched off as a down node would be.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/files.h"
#include "farmserver/cache/workspace_files.h"
#include "store/read_caching_store.h"
#include "store/rocksdb_store.h"
#include "store/sharding_store.h"
#include "store/verifying_store.h"

namespace cifs {
namespace {

std::string Blob(int i) { return "blob number " + std::to_string(i) + std::string(static_cast<size_t>(i % 7) * 100, 'x'); }

class Switch : public ShardAvailability {
 public:
  bool Available() const override { return up; }
  bool up = true;
};

class StoreLayersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("cifs-layers-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    for (int i = 0; i < 4; ++i) {
      RocksDbStoreOptions o;
      o.path = (root_ / ("s" + std::to_string(i))).string();
      o.min_free_bytes = 0;
      auto s = RocksDbStore::Open(o);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      stores_.push_back(std::move(*s));
    }
  }
  void TearDown() override {
    stores_.clear();
    std::filesystem::remove_all(root_);
  }
  std::vector<ContentStore*> Cas(size_t n) {
    std::vector<ContentStore*> v;
    for (size_t i = 0; i < n; ++i) v.push_back(stores_[i].get());
    return v;
  }
  std::vector<ActionCache*> Ac(size_t n) {
    std::vector<ActionCache*> v;
    for (size_t i = 0; i < n; ++i) v.push_back(stores_[i].get());
    return v;
  }

  std::filesystem::path root_;
  std::vector<std::unique_ptr<RocksDbStore>> stores_;
};

TEST(ShardRingTest, SpreadsKeysEvenlyAndMovesOnlyARemovedShardsShare) {
  ShardRing three({"node1", "node2", "node3"}, {});
  ShardRing two({"node1", "node3"}, {});
  std::map<std::string, int> owned;
  int moved_elsewhere = 0;
  const int kKeys = 3000;
  for (int i = 0; i < kKeys; ++i) {
    Digest d = ComputeDigest("key " + std::to_string(i));
    std::string owner3 = three.name(three.Owner(d.hash));
    std::string owner2 = two.name(two.Owner(d.hash));
    owned[owner3]++;
    // Only node2's keys may change hands when node2 leaves.
    if (owner3 != "node2" && owner3 != owner2) moved_elsewhere++;
    // The same ranking on every node: a fresh ring agrees.
    EXPECT_EQ(ShardRing({"node1", "node2", "node3"}, {}).Owner(d.hash), three.Owner(d.hash));
  }
  EXPECT_EQ(moved_elsewhere, 0);
  for (const auto& [name, n] : owned) {
    EXPECT_GT(n, kKeys / 4) << name;  // a third each, give or take
    EXPECT_LT(n, kKeys / 2) << name;
  }
}

TEST(ShardRingTest, SkipsAShardThatIsDown) {
  Switch s2;
  ShardRing ring({"node1", "node2", "node3"}, {nullptr, &s2, nullptr});
  for (int i = 0; i < 200; ++i) {
    Digest d = ComputeDigest(std::to_string(i));
    auto rank = ring.Rank(d.hash);
    s2.up = true;
    EXPECT_EQ(ring.Owner(d.hash), rank[0]);
    s2.up = false;
    EXPECT_EQ(ring.Owner(d.hash), rank[0] == 1 ? rank[1] : rank[0]);
  }
}

TEST_F(StoreLayersTest, EachBlobLivesWithItsOwnerAndLookupsFindIt) {
  ShardRing ring({"a", "b", "c"}, {});
  ShardingContentStore sharded(&ring, Cas(3));
  std::vector<Digest> digests;
  for (int i = 0; i < 60; ++i) {
    std::string data = Blob(i);
    Digest d = ComputeDigest(data);
    digests.push_back(d);
    ASSERT_TRUE(sharded.Put(d, data).ok());
    size_t owner = ring.Owner(d.hash);
    for (size_t s = 0; s < 3; ++s) EXPECT_EQ(stores_[s]->Contains(d), s == owner) << i;
  }
  Digest absent = ComputeDigest("never stored");
  digests.insert(digests.begin() + 30, absent);
  auto missing = sharded.FindMissing(digests);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], absent);
  auto got = sharded.Get(digests[5]);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Blob(5));
  auto reader = sharded.OpenRead(digests[7]);
  ASSERT_TRUE(reader.ok());
  std::string streamed;
  ASSERT_TRUE((*reader)->Read(0, 1 << 20, &streamed).ok());
  EXPECT_EQ(streamed, Blob(7));
  EXPECT_FALSE(sharded.Pin(digests[0]).ok());
}

TEST_F(StoreLayersTest, ADownShardIsAMissAndItsWritesGoToTheNextInRank) {
  Switch down;
  ShardRing ring({"a", "b", "c"}, {nullptr, &down, nullptr});
  ShardingContentStore sharded(&ring, Cas(3));
  ShardingActionCache ac(&ring, Ac(3));
  // Find a blob that b owns, store it while b is up, then take b away.
  std::string data;
  Digest d;
  for (int i = 0;; ++i) {
    data = Blob(i);
    d = ComputeDigest(data);
    if (ring.Owner(d.hash) == 1) break;
  }
  ASSERT_TRUE(sharded.Put(d, data).ok());
  ASSERT_TRUE(ac.Put("trusted", "", d, "result").ok());
  down.up = false;
  EXPECT_EQ(sharded.FindMissing(std::vector<Digest>{d}).size(), 1u);
  EXPECT_FALSE(sharded.Get(d).ok());
  auto entry = ac.Get("trusted", "", d);
  ASSERT_TRUE(entry.ok());
  EXPECT_FALSE(entry->has_value());
  // Written again while b is down: to the next shard in b's place.
  ASSERT_TRUE(sharded.Put(d, data).ok());
  size_t next = ring.Rank(d.hash)[1];
  EXPECT_TRUE(stores_[next]->Contains(d));
  EXPECT_TRUE(sharded.Get(d).ok());
  // b back: it owns the digest again and still has it.
  down.up = true;
  EXPECT_TRUE(sharded.Get(d).ok());
}

TEST_F(StoreLayersTest, TierMovesReachEveryShard) {
  ShardRing ring({"a", "b", "c"}, {});
  ShardingActionCache ac(&ring, Ac(3));
  std::set<size_t> owners;
  for (int i = 0; i < 30; ++i) {
    Digest d = ComputeDigest("action " + std::to_string(i));
    owners.insert(ring.Owner(d.hash));
    ASSERT_TRUE(ac.Put("validation/b1", "", d, "r" + std::to_string(i)).ok());
  }
  ASSERT_EQ(owners.size(), 3u);
  auto moved = ac.MoveTier("validation/b1", "trusted");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 30);
  for (int i = 0; i < 30; ++i) {
    Digest d = ComputeDigest("action " + std::to_string(i));
    auto e = ac.Get("trusted", "", d);
    ASSERT_TRUE(e.ok() && e->has_value());
    EXPECT_EQ(**e, "r" + std::to_string(i));
    auto old = ac.Get("validation/b1", "", d);
    ASSERT_TRUE(old.ok());
    EXPECT_FALSE(old->has_value());
    // Several tiers in one look-up, in the order asked.
    auto both = ac.GetInTiers({"validation/b1", "trusted"}, "", d);
    ASSERT_TRUE(both.ok());
    ASSERT_EQ(both->size(), 2u);
    EXPECT_FALSE((*both)[0].has_value());
    EXPECT_EQ((*both)[1].value_or(""), "r" + std::to_string(i));
  }
}

// A store that hands out other bytes than it was given: a peer's fault.
class LyingStore final : public ContentStore {
 public:
  explicit LyingStore(ContentStore* base) : base_(base) {}
  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& d) override { return base_->FindMissing(d); }
  bool Contains(const Digest& d) override { return base_->Contains(d); }
  Result<std::string> Get(const Digest& d) override {
    auto data = base_->Get(d);
    if (data.ok() && !data->empty()) (*data)[0] ^= 1;
    return data;
  }
  Status Put(const Digest& d, std::string_view data) override { return base_->Put(d, data); }
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& d) override {
    auto data = Get(d);
    if (!data.ok()) return data.status();
    return std::unique_ptr<BlobReader>(std::make_unique<Reader>(std::move(*data)));
  }
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& d) override { return base_->OpenWrite(d); }
  Status Pin(const Digest& d) override { return base_->Pin(d); }
  Status Unpin(const Digest& d) override { return base_->Unpin(d); }
  ContentStoreStats Stats() override { return base_->Stats(); }

 private:
  class Reader final : public BlobReader {
   public:
    explicit Reader(std::string data) : data_(std::move(data)) {}
    int64_t size() const override { return static_cast<int64_t>(data_.size()); }
    Status Read(int64_t offset, size_t max, std::string* out) override {
      out->append(data_.substr(static_cast<size_t>(offset), max));
      return Status::Ok();
    }

   private:
    std::string data_;
  };
  ContentStore* base_;
};

TEST_F(StoreLayersTest, VerifyingRefusesWrongBytesWholeAndStreamed) {
  std::string data(3000, 'q');
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(stores_[0]->Put(d, data).ok());
  LyingStore liar(stores_[0].get());
  VerifyingContentStore verified(&liar);
  auto got = verified.Get(d);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kDataLoss);
  auto reader = verified.OpenRead(d);
  ASSERT_TRUE(reader.ok());
  std::string out;
  ASSERT_TRUE((*reader)->Read(0, 1000, &out).ok());
  ASSERT_TRUE((*reader)->Read(1000, 1000, &out).ok());
  Status last = (*reader)->Read(2000, 1000, &out);
  EXPECT_EQ(last.code(), Status::Code::kDataLoss);
  EXPECT_EQ(out.size(), 2000u);  // the bad last chunk is not handed out
  // Honest bytes pass.
  VerifyingContentStore honest(stores_[0].get());
  auto fine = honest.Get(d);
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(*fine, data);
}

TEST_F(StoreLayersTest, ReadCachingCopiesWhatTheSlowStoreServed) {
  ReadCachingContentStore cached(stores_[0].get(), stores_[1].get());
  std::string small = "a small blob", large(200000, 'L');
  Digest ds = ComputeDigest(small), dl = ComputeDigest(large);
  ASSERT_TRUE(cached.Put(ds, small).ok());
  ASSERT_TRUE(cached.Put(dl, large).ok());
  EXPECT_FALSE(stores_[1]->Contains(ds));  // writes go to the slow store only
  auto got = cached.Get(ds);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(stores_[1]->Contains(ds));
  auto reader = cached.OpenRead(dl);
  ASSERT_TRUE(reader.ok());
  std::string out;
  for (int64_t off = 0; off < (*reader)->size();) {
    size_t before = out.size();
    ASSERT_TRUE((*reader)->Read(off, 65536, &out).ok());
    off += static_cast<int64_t>(out.size() - before);
  }
  EXPECT_EQ(out, large);
  EXPECT_TRUE(stores_[1]->Contains(dl));
  // What exists is still the slow store's answer.
  EXPECT_EQ(cached.FindMissing(std::vector<Digest>{ComputeDigest("x")}).size(), 1u);
}


TEST_F(StoreLayersTest, WorkspaceFilesAreFoundWithoutUploadAndCopiedInOnFirstRead) {
  WorkspaceFileIndex files;
  WorkspaceFilesStore cas(stores_[0].get(), &files);
  const std::string path = (root_ / "source.cc").string();
  ASSERT_TRUE(WriteFileAtomic(path, "int main() {}\n").ok());
  Digest d = ComputeDigest("int main() {}\n");
  Digest other = ComputeDigest("never seen");
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(cas.FindMissing(std::vector<Digest>{d, other}).size(), 2u);
  files.Remember(d, path, st);

  // Present without a byte uploaded; the store below does not hold it yet.
  auto missing = cas.FindMissing(std::vector<Digest>{d, other});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], other);
  EXPECT_FALSE(stores_[0]->Contains(d));
  // The first read copies it in, verified.
  auto data = cas.Get(d);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, "int main() {}\n");
  EXPECT_TRUE(stores_[0]->Contains(d));
}

TEST_F(StoreLayersTest, AWorkspaceFileEditedAfterHashingIsMissingNeverWrong) {
  WorkspaceFileIndex files;
  WorkspaceFilesStore cas(stores_[0].get(), &files);
  const std::string path = (root_ / "edited.cc").string();
  ASSERT_TRUE(WriteFileAtomic(path, "version 1").ok());
  Digest d = ComputeDigest("version 1");
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  files.Remember(d, path, st);
  ASSERT_TRUE(cas.Contains(d));
  // Same size, new content (and a new inode, as an editor saves).
  ASSERT_TRUE(WriteFileAtomic(path, "version 2").ok());
  EXPECT_FALSE(cas.Contains(d));
  EXPECT_EQ(cas.Get(d).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(cas.FindMissing(std::vector<Digest>{d}).size(), 1u);
}

}  // namespace
}  // namespace cifs
