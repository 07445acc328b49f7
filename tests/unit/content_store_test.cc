#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "tests/unit/random_bytes.h"
#include "tests/unit/store_test_util.h"
#include "store/rocksdb_store.h"

namespace cifs {
namespace {

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.string();
    options_.chunk_bytes = 1024;  // small chunks exercise the multi-chunk paths
    options_.file_threshold_bytes = 16384;  // and blobs from 16 KiB on are files
    options_.lru_promote_after_s = 0;       // exact LRU order
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = RocksDbStore::Open(options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  TestDir test_dir_{"cifs-store-test"};
  const std::filesystem::path& dir_ = test_dir_.path();
  RocksDbStoreOptions options_;
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(ContentStoreTest, EvictsLeastRecentlyUsedButNeverPinned) {
  options_.cache_limit_bytes = 3000;
  Reopen();
  std::vector<std::pair<Digest, std::string>> blobs;
  for (uint32_t i = 0; i < 3; ++i) {
    std::string data = RandomBytes(1000, 10 + i);
    blobs.emplace_back(ComputeDigest(data), data);
    ASSERT_TRUE(store_->Put(blobs.back().first, data).ok());
  }
  ASSERT_TRUE(store_->Pin(blobs[0].first).ok());  // oldest, but referenced
  EXPECT_TRUE(store_->Contains(blobs[1].first));  // touch: now most recent
  std::string d4 = RandomBytes(1000, 20), d5 = RandomBytes(1000, 21), d6 = RandomBytes(1000, 22);
  ASSERT_TRUE(store_->Put(ComputeDigest(d4), d4).ok());
  ASSERT_TRUE(store_->Put(ComputeDigest(d5), d5).ok());
  // Unpinned: blobs[1], blobs[2], d4, d5 = 4000 > 3000: blobs[2] (least recent) goes.
  EXPECT_TRUE(store_->Contains(blobs[0].first)) << "pinned blobs are never evicted";
  EXPECT_FALSE(store_->Contains(blobs[2].first));
  EXPECT_TRUE(store_->Contains(blobs[1].first));
  EXPECT_EQ(store_->Stats().pinned_bytes, 1000);
  EXPECT_LE(store_->Stats().cache_bytes, 3000);
  // Unpinned again, it joins the cache and can be evicted like anything else.
  ASSERT_TRUE(store_->Unpin(blobs[0].first).ok());
  ASSERT_TRUE(store_->Put(ComputeDigest(d6), d6).ok());
  EXPECT_LE(store_->Stats().cache_bytes, 3000);
  EXPECT_FALSE(store_->Unpin(ComputeDigest(d6)).ok()) << "unpin without pin is an error";
}

TEST_F(ContentStoreTest, PinsAndBlobsSurviveReopen) {
  std::string data = RandomBytes(2500, 30);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  ASSERT_TRUE(store_->Pin(d).ok());
  Reopen();
  EXPECT_EQ(*store_->Get(d), data);
  EXPECT_EQ(store_->Stats().pinned_bytes, 2500);
}

TEST_F(ContentStoreTest, ReaderKeepsItsBytesWhileBlobIsEvicted) {
  options_.cache_limit_bytes = 2048;
  Reopen();
  std::string data = RandomBytes(2000, 40);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  auto r = store_->OpenRead(d);
  ASSERT_TRUE(r.ok());
  std::string other = RandomBytes(2000, 41);
  ASSERT_TRUE(store_->Put(ComputeDigest(other), other).ok());
  EXPECT_FALSE(store_->Contains(d));
  std::string out;
  ASSERT_TRUE((*r)->Read(0, 5000, &out).ok());
  EXPECT_EQ(out, data);
}

TEST_F(ContentStoreTest, LargeBlobsAreFilesWithTheSameContract) {
  std::string data = RandomBytes(100000, 70);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(WriteInPieces(*store_, d, data, 7000).ok());
  auto r = store_->OpenRead(d);
  ASSERT_TRUE(r.ok());
  std::string part;
  ASSERT_TRUE((*r)->Read(99990, 100, &part).ok());
  EXPECT_EQ(part, data.substr(99990));
  Reopen();
  EXPECT_EQ(*store_->Get(d), data);
  // A mismatch leaves neither a record nor a file.
  std::string other = RandomBytes(100000, 71);
  Digest lie = ComputeDigest(RandomBytes(100000, 72));
  EXPECT_EQ(store_->Put(lie, other).code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(store_->Contains(lie));
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir_ / "files")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "only the verified blob's file remains";
}

TEST_F(ContentStoreTest, EvictedFileBlobStaysReadableThroughOpenReader) {
  options_.cache_limit_bytes = 40000;
  Reopen();
  std::string data = RandomBytes(30000, 80);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  auto r = store_->OpenRead(d);
  ASSERT_TRUE(r.ok());
  std::string other = RandomBytes(30000, 81);
  ASSERT_TRUE(store_->Put(ComputeDigest(other), other).ok());
  EXPECT_FALSE(store_->Contains(d));
  std::string out;
  ASSERT_TRUE((*r)->Read(0, 40000, &out).ok());
  EXPECT_EQ(out, data);
}

TEST_F(ContentStoreTest, RefusesNewBlobsWhenTheDiskReserveWouldBeUsed) {
  std::string data = RandomBytes(5000, 90);
  ASSERT_TRUE(store_->Put(ComputeDigest(data), data).ok());
  options_.min_free_bytes = 1LL << 50;  // more than any disk here has
  Reopen();
  std::string more = RandomBytes(5000, 91);
  Status s = store_->Put(ComputeDigest(more), more);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("disk is full"), std::string::npos) << s.message();
  EXPECT_FALSE(store_->Contains(ComputeDigest(more)));
  EXPECT_EQ(*store_->Get(ComputeDigest(data)), data) << "what is stored stays readable";
}

TEST_F(ContentStoreTest, ActionCacheIsPerTierAndInstance) {
  Digest a = ComputeDigest("action");
  ASSERT_TRUE(store_->Put("trusted", "", a, "result-1").ok());
  ASSERT_TRUE(store_->Put("trusted", "other", a, "result-2").ok());
  ASSERT_TRUE(store_->Put("user/bob", "", a, "forged").ok());
  EXPECT_EQ(**store_->Get("trusted", "", a), "result-1");
  EXPECT_EQ(**store_->Get("trusted", "other", a), "result-2");
  EXPECT_EQ(**store_->Get("user/bob", "", a), "forged");
  EXPECT_FALSE(store_->Get("trusted", "third", a)->has_value());
  EXPECT_FALSE(store_->Get("user/alice", "", a)->has_value());
  // A tier that is a prefix of another shares nothing with it.
  EXPECT_FALSE(store_->Get("user/bo", "", a)->has_value());
}

TEST_F(ContentStoreTest, MoveTierMovesEveryEntryAndNothingElse) {
  Digest a = ComputeDigest("a"), b = ComputeDigest("b"), c = ComputeDigest("c");
  ASSERT_TRUE(store_->Put("validation/1", "", a, "a-validated").ok());
  ASSERT_TRUE(store_->Put("validation/1", "inst", b, "b-validated").ok());
  ASSERT_TRUE(store_->Put("validation/12", "", c, "c-other-build").ok());
  ASSERT_TRUE(store_->Put("trusted", "", a, "a-old").ok());
  auto moved = store_->MoveTier("validation/1", "trusted");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 2);
  EXPECT_EQ(**store_->Get("trusted", "", a), "a-validated");
  EXPECT_EQ(**store_->Get("trusted", "inst", b), "b-validated");
  EXPECT_FALSE(store_->Get("validation/1", "", a)->has_value());
  EXPECT_FALSE(store_->Get("trusted", "", c)->has_value());
  EXPECT_EQ(**store_->Get("validation/12", "", c), "c-other-build");
  ASSERT_TRUE(store_->DropTier("validation/12").ok());
  EXPECT_FALSE(store_->Get("validation/12", "", c)->has_value());
  EXPECT_EQ(**store_->Get("trusted", "", a), "a-validated");
  Reopen();
  EXPECT_EQ(**store_->Get("trusted", "inst", b), "b-validated");
}

// A process killed in the middle of uploads leaves no visible partial blob,
// and the next open cleans the leftovers away.
TEST_F(ContentStoreTest, KillDuringUploadServesOnlyVerifiedBlobs) {
  store_.reset();
  std::string done = RandomBytes(8000, 60);
  std::string partial = RandomBytes(8000, 61);
  std::string partial_file = RandomBytes(50000, 62);  // above the file threshold
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = RocksDbStore::Open(options_);
    if (!s.ok()) _exit(3);
    if (!(*s)->Put(ComputeDigest(done), done).ok()) _exit(4);
    auto w = (*s)->OpenWrite(ComputeDigest(partial));
    if (!w.ok()) _exit(5);
    (void)(*w)->Append(std::string_view(partial).substr(0, 5000));
    auto wf = (*s)->OpenWrite(ComputeDigest(partial_file));
    if (!wf.ok()) _exit(7);
    (void)(*wf)->Append(std::string_view(partial_file).substr(0, 30000));
    ::kill(::getpid(), SIGKILL);  // no destructors, no flush
    _exit(6);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
  Reopen();
  EXPECT_EQ(*store_->Get(ComputeDigest(done)), done);
  EXPECT_FALSE(store_->Contains(ComputeDigest(partial)));
  EXPECT_FALSE(store_->Contains(ComputeDigest(partial_file)));
  EXPECT_EQ(store_->recovered_partial_uploads(), 2);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "files" / "tmp")) << "partial upload files are removed";
  EXPECT_EQ(store_->Stats().blobs, 1);
}

// Flips one byte of `data` where a RocksDB blob file under `dir` holds it;
// false if no file does.
bool DamageInBlobFiles(const std::filesystem::path& dir, const std::string& data) {
  for (auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() != ".blob") continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    size_t at = bytes.find(data);
    if (at == std::string::npos) continue;
    bytes[at + data.size() / 2] ^= 0x5a;
    std::ofstream(f.path(), std::ios::binary | std::ios::trunc) << bytes;
    return true;
  }
  return false;
}

TEST_F(ContentStoreTest, ABlobDamagedOnDiskIsRefusedDroppedAndCanBeStoredAgain) {
  std::string good = RandomBytes(900, 90), damaged = RandomBytes(900, 91);  // one chunk each
  ASSERT_TRUE(store_->Put(ComputeDigest(good), good).ok());
  ASSERT_TRUE(store_->Put(ComputeDigest(damaged), damaged).ok());
  Reopen();  // the log is replayed and flushed: the bytes now lie in a blob file
  store_.reset();
  ASSERT_TRUE(DamageInBlobFiles(dir_, damaged)) << "no blob file holds the blob";
  Reopen();
  EXPECT_EQ(*store_->Get(ComputeDigest(good)), good);
  auto got = store_->Get(ComputeDigest(damaged));
  ASSERT_FALSE(got.ok()) << "damaged bytes were served";
  EXPECT_EQ(got.status().code(), Status::Code::kDataLoss);
  EXPECT_NE(got.status().message().find("damaged"), std::string::npos) << got.status().message();
  EXPECT_FALSE(store_->Contains(ComputeDigest(damaged))) << "a damaged blob stays listed";
  EXPECT_EQ(store_->Stats().damaged_blobs, 1);
  // Fetched (or uploaded) again, it is whole; the good one reads again
  // without a second check.
  ASSERT_TRUE(store_->Put(ComputeDigest(damaged), damaged).ok());
  EXPECT_EQ(*store_->Get(ComputeDigest(damaged)), damaged);
  EXPECT_EQ(*store_->Get(ComputeDigest(good)), good);
}

}  // namespace
}  // namespace cifs
