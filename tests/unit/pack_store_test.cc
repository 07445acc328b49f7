#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "common/files.h"
#include "tests/unit/random_bytes.h"
#include "tests/unit/store_test_util.h"
#include "store/pack_store.h"

namespace cifs {
namespace {

class PackStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.string();
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = PackStore::Open(options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  Digest PutRandom(size_t n, uint32_t seed) {
    std::string data = RandomBytes(n, seed);
    Digest d = ComputeDigest(data);
    EXPECT_TRUE(store_->Put(d, data).ok());
    return d;
  }
  std::vector<std::filesystem::path> Files(const std::string& ext) {
    std::vector<std::filesystem::path> out;
    for (auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().extension() == ext) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TestDir test_dir_{"cifs-pack-test"};
  const std::filesystem::path& dir_ = test_dir_.path();
  PackStoreOptions options_;
  std::unique_ptr<PackStore> store_;
};

TEST_F(PackStoreTest, ABlobOfSeveralVerifyStepsStreamsInAndReadsAtOffsetsBesideAnother) {
  std::string data = RandomBytes(5000, 1);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  std::string big = RandomBytes(3 << 20, 2);  // several verify steps
  Digest bd = ComputeDigest(big);
  Status written = WriteInPieces(*store_, bd, big, 70000);
  ASSERT_TRUE(written.ok()) << written.ToString();
  auto r = store_->OpenRead(bd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), static_cast<int64_t>(big.size()));
  std::string part;
  ASSERT_TRUE((*r)->Read(1000000, 12345, &part).ok());
  EXPECT_EQ(part, big.substr(1000000, 12345));
  part.clear();
  ASSERT_TRUE((*r)->Read(static_cast<int64_t>(big.size()) - 10, 100, &part).ok());
  EXPECT_EQ(part, big.substr(big.size() - 10));
  EXPECT_EQ(*store_->Get(d), data);  // the first blob is untouched by the second
  Reopen();  // read back after open: checked against its hash in 1 MiB steps
  EXPECT_EQ(*store_->Get(bd), big);
}

TEST_F(PackStoreTest, ADamagedBlobIsRefusedOnItsFirstReadAfterOpenDroppedAndCanBeStoredAgain) {
  std::string data = RandomBytes(10000, 5);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  Digest other = PutRandom(3000, 6);
  store_.reset();
  auto packs = Files(".pack");
  ASSERT_EQ(packs.size(), 1u);
  {
    // The first blob starts the pack: flip a byte in its middle.
    UniqueFd fd(::open(packs[0].c_str(), O_RDWR));
    char c;
    ASSERT_EQ(::pread(fd.get(), &c, 1, 5000), 1);
    c ^= 0x40;
    ASSERT_EQ(::pwrite(fd.get(), &c, 1, 5000), 1);
  }
  Reopen();
  EXPECT_TRUE(store_->Contains(d));  // not read yet
  auto got = store_->Get(d);
  EXPECT_EQ(got.status().code(), Status::Code::kDataLoss) << "damaged bytes were served";
  EXPECT_FALSE(store_->Contains(d));
  EXPECT_EQ(store_->Stats().damaged_blobs, 1);
  EXPECT_EQ(*store_->Get(other), std::string(RandomBytes(3000, 6)));
  ASSERT_TRUE(store_->Put(d, data).ok());
  EXPECT_EQ(*store_->Get(d), data);
}

TEST_F(PackStoreTest, AtOpenOnlyRecordsWhoseBytesAreThereCountAndPacksWithoutRecordsGo) {
  Digest a = PutRandom(8000, 7);
  Digest b = PutRandom(8000, 8);
  store_.reset();
  auto packs = Files(".pack");
  ASSERT_EQ(packs.size(), 1u);
  // The bytes of b never reached the disk (a machine crash).
  std::filesystem::resize_file(packs[0], 12000);
  // And a pack whose records were lost with the crash.
  { std::ofstream(dir_ / "0000000099.pack") << "bytes nobody can find"; }
  Reopen();
  EXPECT_TRUE(store_->Contains(a));
  EXPECT_FALSE(store_->Contains(b));
  EXPECT_EQ(*store_->Get(a), RandomBytes(8000, 7));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "0000000099.pack"));
  // A pack file that is gone takes its records with it: a new pack of the
  // same number does not inherit them.
  store_.reset();
  std::filesystem::remove(packs[0]);
  Reopen();
  EXPECT_FALSE(store_->Contains(a));
  EXPECT_EQ(store_->Stats().blobs, 0);
  Digest c = PutRandom(8000, 9);
  Reopen();
  EXPECT_FALSE(store_->Contains(a));
  EXPECT_EQ(*store_->Get(c), RandomBytes(8000, 9));
}

TEST_F(PackStoreTest, AProcessKilledMidWriteLeavesAStoreThatServesOnlyWholeBlobs) {
  store_.reset();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = PackStore::Open(options_);
    if (!s.ok()) ::_exit(2);
    for (uint32_t i = 0; i < 50; ++i) {
      std::string data = RandomBytes(5000, 300 + i);
      if (!(*s)->Put(ComputeDigest(data), data).ok()) ::_exit(3);
    }
    auto w = (*s)->OpenWrite(ComputeDigest(RandomBytes(9000, 400)));
    if (!w.ok() || !(*w)->Append(RandomBytes(9000, 400).substr(0, 4000)).ok()) ::_exit(4);
    ::kill(::getpid(), SIGKILL);  // mid-write, records unflushed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  Reopen();
  for (uint32_t i = 0; i < 50; ++i) {
    std::string data = RandomBytes(5000, 300 + i);
    Digest d = ComputeDigest(data);
    if (store_->Contains(d)) {
      EXPECT_EQ(*store_->Get(d), data) << i;
    }
    ASSERT_TRUE(store_->Put(d, data).ok()) << i;
    EXPECT_EQ(*store_->Get(d), data) << i;
  }
  EXPECT_FALSE(store_->Contains(ComputeDigest(RandomBytes(9000, 400))));
}

TEST_F(PackStoreTest, StaysWithinItsLimitEvictingOldPacksAndKeepsWhatIsRead) {
  options_.cache_limit_bytes = 1 << 20;
  options_.pack_bytes = 128 << 10;
  Reopen();
  Digest kept = PutRandom(10000, 100);
  Digest dropped = PutRandom(10000, 101);
  std::vector<Digest> all;
  for (uint32_t i = 0; i < 400; ++i) {
    all.push_back(PutRandom(10000, 1000 + i));  // 4 MB through a 1 MiB store
    if (i % 10 == 0) {
      ASSERT_TRUE(store_->Get(kept).ok()) << i;
    }
    auto st = store_->Stats();
    ASSERT_LE(st.cache_bytes, options_.cache_limit_bytes + options_.pack_bytes) << i;
  }
  EXPECT_TRUE(store_->Contains(kept)) << "a blob in use was evicted";
  EXPECT_EQ(*store_->Get(kept), RandomBytes(10000, 100));
  EXPECT_FALSE(store_->Contains(dropped));
  EXPECT_FALSE(store_->Contains(all.front()));
  EXPECT_TRUE(store_->Contains(all.back()));
  EXPECT_GT(store_->Stats().evicted_blobs, 250);
  EXPECT_LE(store_->pack_count(), 10u);
  int64_t on_disk = 0;
  for (auto& p : Files(".pack")) on_disk += static_cast<int64_t>(std::filesystem::file_size(p));
  EXPECT_LE(on_disk, options_.cache_limit_bytes + options_.pack_bytes);
  // A smaller limit at the next open is applied at once.
  options_.cache_limit_bytes = 256 << 10;
  Reopen();
  EXPECT_LE(store_->Stats().cache_bytes, options_.cache_limit_bytes + options_.pack_bytes);
  EXPECT_TRUE(store_->Contains(all.back()));
}

TEST_F(PackStoreTest, AReaderKeepsItsBytesWhileItsPackIsEvicted) {
  options_.cache_limit_bytes = 512 << 10;
  options_.pack_bytes = 64 << 10;
  Reopen();
  std::string data = RandomBytes(30000, 9);
  Digest d = ComputeDigest(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  auto r = store_->OpenRead(d);
  ASSERT_TRUE(r.ok());
  for (uint32_t i = 0; i < 100; ++i) PutRandom(30000, 2000 + i);
  ASSERT_FALSE(store_->Contains(d));
  std::string got;
  ASSERT_TRUE((*r)->Read(0, data.size(), &got).ok());
  EXPECT_EQ(got, data);
}

TEST_F(PackStoreTest, RefusesToPinAndRefusesBlobsThatWouldEatTheDiskReserve) {
  Digest d = PutRandom(100, 10);
  EXPECT_EQ(store_->Pin(d).code(), Status::Code::kFailedPrecondition);
  options_.min_free_bytes = int64_t{1} << 60;
  Reopen();
  std::string data = RandomBytes(100, 11);
  Status s = store_->Put(ComputeDigest(data), data);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("disk is full for " + dir_.string()), std::string::npos) << s.message();
  EXPECT_TRUE(store_->Contains(d));
}

}  // namespace
}  // namespace cifs
