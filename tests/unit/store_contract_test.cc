// The ContentStore contract (store/content_store.h), run against every store
// that keeps blobs on disk: the farm's RocksDbStore and fsd's PackStore.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "store/pack_store.h"
#include "store/rocksdb_store.h"
#include "tests/unit/random_bytes.h"
#include "tests/unit/store_test_util.h"

namespace cifs {
namespace {

template <typename S>
struct Opener;

template <>
struct Opener<RocksDbStore> {
  static Result<std::unique_ptr<ContentStore>> Open(const std::string& path) {
    RocksDbStoreOptions o;
    o.path = path;
    o.chunk_bytes = 1024;            // small chunks exercise the multi-chunk paths
    o.file_threshold_bytes = 16384;  // and blobs from 16 KiB on are files
    auto s = RocksDbStore::Open(o);
    if (!s.ok()) return s.status();
    return std::unique_ptr<ContentStore>(std::move(*s));
  }
};

template <>
struct Opener<PackStore> {
  static Result<std::unique_ptr<ContentStore>> Open(const std::string& path) {
    PackStoreOptions o;
    o.path = path;
    auto s = PackStore::Open(o);
    if (!s.ok()) return s.status();
    return std::unique_ptr<ContentStore>(std::move(*s));
  }
};

template <typename S>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = Opener<S>::Open(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  TestDir test_dir_{"cifs-contract"};
  const std::filesystem::path& dir_ = test_dir_.path();
  std::unique_ptr<ContentStore> store_;
};

using Stores = ::testing::Types<RocksDbStore, PackStore>;
class StoreNames {
 public:
  template <typename S>
  static std::string GetName(int) {
    return std::is_same_v<S, RocksDbStore> ? "RocksDbStore" : "PackStore";
  }
};
TYPED_TEST_SUITE(StoreContractTest, Stores, StoreNames);

TYPED_TEST(StoreContractTest, PutGetAndFindMissing) {
  auto& store = this->store_;
  std::string data = RandomBytes(5000, 1);
  Digest d = ComputeDigest(data);
  Digest absent = ComputeDigest("absent");
  EXPECT_EQ(store->FindMissing({d, absent}).size(), 2u);
  ASSERT_TRUE(store->Put(d, data).ok());
  auto missing = store->FindMissing({d, absent, EmptyDigest()});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], absent);
  auto got = store->Get(d);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
  EXPECT_TRUE(store->Contains(EmptyDigest()));
  EXPECT_EQ(*store->Get(EmptyDigest()), "");
  EXPECT_EQ(store->OpenWrite(d).status().code(), Status::Code::kAlreadyExists);
}

TYPED_TEST(StoreContractTest, BlobsSurviveAReopen) {
  std::string data = RandomBytes(20000, 9);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(this->store_->Put(d, data).ok());
  this->Reopen();
  EXPECT_TRUE(this->store_->Contains(d));
  EXPECT_EQ(*this->store_->Get(d), data);
}

TYPED_TEST(StoreContractTest, OpenWaitsForTheStoreLockToBeReleased) {
  // As after a kill -9: whoever held the lock lets go a moment later.
  ASSERT_TRUE(this->store_->Put(ComputeDigest("kept"), "kept").ok());
  std::thread holder([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    this->store_.reset();
  });
  auto s = Opener<TypeParam>::Open(this->dir_.string());
  holder.join();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  this->store_ = std::move(*s);
  EXPECT_EQ(*this->store_->Get(ComputeDigest("kept")), "kept");
}

TYPED_TEST(StoreContractTest, AMismatchIsRefusedAndNothingStored) {
  auto& store = this->store_;
  std::string data = "the real bytes";
  Digest claimed = ComputeDigest("other bytes!!!");  // same size, other hash
  ASSERT_EQ(claimed.size, static_cast<int64_t>(data.size()));
  Status s = store->Put(claimed, data);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(store->Contains(claimed));
  EXPECT_EQ(store->Stats().blobs, 0);
  EXPECT_EQ(store->Stats().rejected_writes, 1);
  Digest wrong_size{ComputeDigest(data).hash, 3};
  EXPECT_FALSE(store->Put(wrong_size, data).ok());
  this->Reopen();
  EXPECT_EQ(this->store_->Stats().blobs, 0);
}

TYPED_TEST(StoreContractTest, AMismatchDoesNotDisturbAStoredBlob) {
  std::string data = RandomBytes(3000, 2);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(this->store_->Put(d, data).ok());
  EXPECT_FALSE(this->store_->Put(d, RandomBytes(3000, 3)).ok());
  EXPECT_EQ(*this->store_->Get(d), data);
}

TYPED_TEST(StoreContractTest, StreamsInPiecesAndReadsAtOffsets) {
  auto& store = this->store_;
  std::string data = RandomBytes(10 * 1024 + 17, 4);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(WriteInPieces(*store, d, data, 333).ok());
  auto r = store->OpenRead(d);
  ASSERT_TRUE(r.ok());
  for (int64_t off : {0L, 1L, 1023L, 1024L, 5000L, static_cast<int64_t>(data.size()) - 1}) {
    std::string out;
    ASSERT_TRUE((*r)->Read(off, 2000, &out).ok());
    EXPECT_EQ(out, data.substr(off, 2000)) << off;
  }
  std::string tail;
  ASSERT_TRUE((*r)->Read(static_cast<int64_t>(data.size()), 10, &tail).ok());
  EXPECT_TRUE(tail.empty());
  EXPECT_EQ((*r)->Read(static_cast<int64_t>(data.size()) + 1, 10, &tail).code(), Status::Code::kOutOfRange);
}

TYPED_TEST(StoreContractTest, AnAbandonedOrShortWriteLeavesNothing) {
  auto& store = this->store_;
  std::string data = RandomBytes(4096, 5);
  Digest d = ComputeDigest(data);
  {
    auto w = store->OpenWrite(d);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(std::string_view(data).substr(0, 3000)).ok());
  }
  EXPECT_FALSE(store->Contains(d));
  {
    auto w = store->OpenWrite(d);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(std::string_view(data).substr(0, 100)).ok());
    EXPECT_EQ((*w)->Commit().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_FALSE(store->Contains(d));
  auto w = store->OpenWrite(d);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE((*w)->Append(data + "x").ok()) << "more bytes than the digest says";
}

TYPED_TEST(StoreContractTest, ConcurrentWritersOfOneBlobLeaveOneReadableCopy) {
  auto& store = this->store_;
  std::string data = RandomBytes(50000, 50);
  Digest d = ComputeDigest(data);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto w = store->OpenWrite(d);
      if (!w.ok()) {
        if (w.status().code() == Status::Code::kAlreadyExists) ok++;
        return;
      }
      for (size_t off = 0; off < data.size(); off += 4000) (void)(*w)->Append(std::string_view(data).substr(off, 4000));
      if ((*w)->Commit().ok()) ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(*store->Get(d), data);
  EXPECT_EQ(store->Stats().blobs, 1);
  this->Reopen();
  EXPECT_EQ(*this->store_->Get(d), data);
}

}  // namespace
}  // namespace cifs
