// A 2 GiB blob streams through ByteStream without the farm holding it in memory.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "common/digest.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "tests/integration/dev_farm.h"

namespace cifs::testing {
namespace {

namespace bs = google::bytestream;

// Deterministic, incompressible bytes without keeping them around.
class ByteSource {
 public:
  void Fill(std::string* out, size_t n) {
    out->resize(n);
    for (size_t i = 0; i + 8 <= n; i += 8) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      std::memcpy(out->data() + i, &state_, 8);
    }
  }

 private:
  uint64_t state_ = 0x9e3779b97f4a7c15ULL;
};

TEST(LargeBlobTest, TwoGiBRoundTripInBoundedMemory) {
  constexpr int64_t kSize = 2LL << 30;
  constexpr size_t kChunk = 1 << 20;
  DevFarm farm;
  int pid = farm.pid();
  ASSERT_GT(pid, 0);

  Sha256 h;
  {
    ByteSource src;
    std::string buf;
    for (int64_t off = 0; off < kSize; off += kChunk) {
      src.Fill(&buf, kChunk);
      h.Update(buf);
    }
  }
  Digest d{h.FinishHex(), kSize};

  auto stub = bs::ByteStream::NewStub(farm.Channel("alice"));
  const int64_t rss_before = ResidentBytes(pid);
  std::atomic<int64_t> rss_max{rss_before};
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      int64_t r = ResidentBytes(pid);
      if (r > rss_max) rss_max = r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  {
    grpc::ClientContext ctx;
    bs::WriteResponse resp;
    auto writer = stub->Write(&ctx, &resp);
    ByteSource src;
    bs::WriteRequest w;
    for (int64_t off = 0; off < kSize; off += kChunk) {
      w.set_resource_name(off == 0 ? "uploads/big/blobs/" + d.hash + "/" + std::to_string(kSize) : "");
      w.set_write_offset(off);
      src.Fill(w.mutable_data(), kChunk);
      w.set_finish_write(off + static_cast<int64_t>(kChunk) >= kSize);
      ASSERT_TRUE(writer->Write(w)) << "at " << off;
    }
    writer->WritesDone();
    auto s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.committed_size(), kSize);
  }
  const int64_t rss_after_write = rss_max;
  {
    grpc::ClientContext ctx;
    bs::ReadRequest r;
    r.set_resource_name("blobs/" + d.hash + "/" + std::to_string(kSize));
    auto reader = stub->Read(&ctx, r);
    bs::ReadResponse resp;
    Sha256 back;
    int64_t total = 0;
    while (reader->Read(&resp)) {
      back.Update(resp.data());
      total += static_cast<int64_t>(resp.data().size());
    }
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(total, kSize);
    EXPECT_EQ(back.FinishHex(), d.hash);
  }
  done = true;
  sampler.join();
  int64_t growth = rss_max - rss_before;
  std::printf("farmserver RSS before %.1f MiB, peak while writing %.1f MiB, peak overall %.1f MiB, "
              "growth %.1f MiB for a 2 GiB blob\n",
              rss_before / 1048576.0, rss_after_write / 1048576.0, rss_max / 1048576.0, growth / 1048576.0);
  EXPECT_LT(growth, 100LL << 20);
}

}  // namespace
}  // namespace cifs::testing
