// kill -9 of the farm in the middle of uploads: after a restart it serves
// only blobs whose bytes match their digests.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <cstring>
#include <set>
#include <thread>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "common/digest.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "tests/integration/dev_farm.h"

namespace cifs::testing {
namespace {

namespace re = build::bazel::remote::execution::v2;
namespace bs = google::bytestream;

TEST(CrashRecoveryTest, KillNineDuringUploadsServesOnlyVerifiedBlobs) {
  DevFarm farm;
  constexpr int kBlobs = 24;
  std::vector<std::string> blobs;
  std::vector<Digest> digests;
  for (int i = 0; i < kBlobs; ++i) {
    blobs.push_back(TestBlob(i, (i % 3 == 0) ? (8 << 20) + i : 20000 + i));
    digests.push_back(ComputeDigest(blobs.back()));
  }
  std::atomic<int> next{0};
  std::atomic<int> acknowledged{0};
  std::vector<int> acked_ids(kBlobs, 0);
  auto uploader = [&] {
    auto stub = bs::ByteStream::NewStub(farm.Channel("alice"));
    while (true) {
      int i = next++;
      if (i >= kBlobs) return;
      grpc::ClientContext ctx;
      bs::WriteResponse resp;
      auto writer = stub->Write(&ctx, &resp);
      const std::string& data = blobs[i];
      for (size_t off = 0; off < data.size(); off += 65536) {
        bs::WriteRequest w;
        if (off == 0) w.set_resource_name("uploads/crash-" + std::to_string(i) + "/blobs/" + digests[i].hash + "/" +
                                          std::to_string(digests[i].size));
        w.set_write_offset(static_cast<int64_t>(off));
        w.set_data(data.substr(off, 65536));
        w.set_finish_write(off + 65536 >= data.size());
        if (!writer->Write(w)) break;
      }
      writer->WritesDone();
      if (writer->Finish().ok()) {
        acked_ids[i] = 1;
        acknowledged++;
      }
    }
  };
  std::thread t1(uploader), t2(uploader);
  // One upload certainly half-way at the kill: half its bytes sent, and the
  // farm confirms it holds them.
  std::string half_blob = TestBlob(1000, 4 << 20);
  Digest half = ComputeDigest(half_blob);
  std::string half_name = "uploads/half/blobs/" + half.hash + "/" + std::to_string(half.size);
  auto half_stub = bs::ByteStream::NewStub(farm.Channel("alice"));
  grpc::ClientContext half_ctx;
  bs::WriteResponse half_resp;
  auto half_writer = half_stub->Write(&half_ctx, &half_resp);
  bs::WriteRequest hw;
  hw.set_resource_name(half_name);
  hw.set_data(half_blob.substr(0, half_blob.size() / 2));
  ASSERT_TRUE(half_writer->Write(hw));
  half_writer->WritesDone();
  EXPECT_FALSE(half_writer->Finish().ok());  // no finish_write: kept for a resume
  grpc::ClientContext qctx;
  bs::QueryWriteStatusRequest q;
  q.set_resource_name(half_name);
  bs::QueryWriteStatusResponse qr;
  ASSERT_TRUE(half_stub->QueryWriteStatus(&qctx, q, &qr).ok());
  ASSERT_EQ(qr.committed_size(), static_cast<int64_t>(half_blob.size() / 2));
  // Kill once a few uploads went through and others are in flight.
  for (int i = 0; i < 600 && acknowledged < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  farm.Kill9();
  t1.join();
  t2.join();
  ASSERT_GE(acknowledged.load(), 1);
  ASSERT_LT(acknowledged.load(), kBlobs) << "the kill came too late to interrupt anything";

  ASSERT_TRUE(farm.Start());
  auto ch = farm.Channel("alice");
  auto cas = re::ContentAddressableStorage::NewStub(ch);
  auto stub = bs::ByteStream::NewStub(ch);
  grpc::ClientContext fctx;
  re::FindMissingBlobsRequest freq;
  for (const auto& d : digests) {
    auto* pd = freq.add_blob_digests();
    pd->set_hash(d.hash);
    pd->set_size_bytes(d.size);
  }
  re::FindMissingBlobsResponse fresp;
  ASSERT_TRUE(cas->FindMissingBlobs(&fctx, freq, &fresp).ok());
  std::set<std::string> missing;
  for (const auto& m : fresp.missing_blob_digests()) missing.insert(m.hash());
  int present = 0;
  for (int i = 0; i < kBlobs; ++i) {
    if (acked_ids[i]) EXPECT_FALSE(missing.count(digests[i].hash)) << "acknowledged blob " << i << " was lost";
    if (missing.count(digests[i].hash)) continue;
    ++present;
    grpc::ClientContext ctx;
    bs::ReadRequest r;
    r.set_resource_name("blobs/" + digests[i].hash + "/" + std::to_string(digests[i].size));
    auto reader = stub->Read(&ctx, r);
    bs::ReadResponse resp;
    Sha256 h;
    while (reader->Read(&resp)) h.Update(resp.data());
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(h.FinishHex(), digests[i].hash) << "blob " << i << " served with wrong bytes";
  }
  std::printf("%d uploads acknowledged before kill -9, %d blobs present after restart, %zu missing\n",
              acknowledged.load(), present, missing.size());
  EXPECT_GT(missing.size(), 0u);
  // The half-written blob is gone, and a resume starts from zero.
  grpc::ClientContext q2;
  bs::QueryWriteStatusResponse qr2;
  auto qs = stub->QueryWriteStatus(&q2, q, &qr2);
  EXPECT_TRUE(!qs.ok() || qr2.committed_size() == 0);
  std::string log = ReadText(farm.dir() + "/farmserver.log");
  EXPECT_NE(log.find("discarded_partial_uploads"), std::string::npos) << "the restart should clean up partial uploads";
  // Nothing half-written is left on disk.
  EXPECT_TRUE(std::filesystem::is_empty(farm.dir() + "/content/files/tmp"));
}

}  // namespace
}  // namespace cifs::testing
