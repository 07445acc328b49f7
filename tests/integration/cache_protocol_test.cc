// The REAPI cache as clients other than Bazel 4.2.3 use it too.
#include <gtest/gtest.h>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "common/digest.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "tests/integration/dev_farm.h"

namespace cifs::testing {
namespace {

namespace re = build::bazel::remote::execution::v2;
namespace bs = google::bytestream;

class CacheProtocolTest : public SharedFarmTest {
 protected:
  void SetUp() override {
    ch_ = farm_->Channel("alice");
    cas_ = re::ContentAddressableStorage::NewStub(ch_);
    bs_ = bs::ByteStream::NewStub(ch_);
    ac_ = re::ActionCache::NewStub(ch_);
  }

  re::Digest Upload(const std::string& data) {
    Digest d = ComputeDigest(data);
    int code = -1;
    EXPECT_TRUE(BatchUpload(ch_, d.hash, d.size, data, &code).ok());
    EXPECT_EQ(code, 0);
    re::Digest out;
    out.set_hash(d.hash);
    out.set_size_bytes(d.size);
    return out;
  }

  static std::string ReadAll(bs::ByteStream::Stub* stub, const std::string& name, int64_t offset, int64_t limit,
                             grpc::Status* status) {
    grpc::ClientContext ctx;
    bs::ReadRequest r;
    r.set_resource_name(name);
    r.set_read_offset(offset);
    r.set_read_limit(limit);
    auto reader = stub->Read(&ctx, r);
    bs::ReadResponse resp;
    std::string out;
    while (reader->Read(&resp)) out += resp.data();
    *status = reader->Finish();
    return out;
  }

  std::shared_ptr<grpc::Channel> ch_;
  std::unique_ptr<re::ContentAddressableStorage::Stub> cas_;
  std::unique_ptr<bs::ByteStream::Stub> bs_;
  std::unique_ptr<re::ActionCache::Stub> ac_;
};

TEST_F(CacheProtocolTest, CapabilitiesMatchWhatBazelNeeds) {
  grpc::ClientContext ctx;
  re::ServerCapabilities caps;
  ASSERT_TRUE(re::Capabilities::NewStub(ch_)->GetCapabilities(&ctx, {}, &caps).ok());
  EXPECT_EQ(caps.low_api_version().major(), 2);
  EXPECT_EQ(caps.low_api_version().minor(), 0);
  ASSERT_EQ(caps.cache_capabilities().digest_function_size(), 1);
  EXPECT_EQ(caps.cache_capabilities().digest_function(0), re::DigestFunction::SHA256);
  EXPECT_TRUE(caps.cache_capabilities().action_cache_update_capabilities().update_enabled());
  EXPECT_GT(caps.cache_capabilities().max_batch_total_size_bytes(), 0);
  EXPECT_LT(caps.cache_capabilities().max_batch_total_size_bytes(), 4 << 20);
}

TEST_F(CacheProtocolTest, BatchReadReturnsBlobsAndPerBlobNotFound) {
  re::Digest d = Upload("batch blob");
  grpc::ClientContext ctx;
  re::BatchReadBlobsRequest req;
  *req.add_digests() = d;
  auto* missing = req.add_digests();
  Digest m = ComputeDigest("never uploaded");
  missing->set_hash(m.hash);
  missing->set_size_bytes(m.size);
  re::BatchReadBlobsResponse resp;
  ASSERT_TRUE(cas_->BatchReadBlobs(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.responses_size(), 2);
  EXPECT_EQ(resp.responses(0).data(), "batch blob");
  EXPECT_EQ(resp.responses(1).status().code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CacheProtocolTest, ByteStreamReadsWithOffsetsLimitsAndInstanceNames) {
  std::string data(3 * (1 << 20) + 123, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  Digest d = ComputeDigest(data);
  // Upload through ByteStream with an instance name, in Bazel's 16 KiB chunks.
  grpc::ClientContext ctx;
  bs::WriteResponse wresp;
  auto writer = bs_->Write(&ctx, &wresp);
  for (size_t off = 0; off < data.size(); off += 16384) {
    bs::WriteRequest w;
    if (off == 0) w.set_resource_name("main/uploads/abc/blobs/" + d.hash + "/" + std::to_string(d.size));
    w.set_write_offset(static_cast<int64_t>(off));
    w.set_data(data.substr(off, 16384));
    w.set_finish_write(off + 16384 >= data.size());
    ASSERT_TRUE(writer->Write(w));
  }
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(wresp.committed_size(), d.size);

  grpc::Status s;
  std::string name = "blobs/" + d.hash + "/" + std::to_string(d.size);
  EXPECT_EQ(ReadAll(bs_.get(), name, 0, 0, &s), data);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(ReadAll(bs_.get(), "main/" + name, 1000000, 0, &s), data.substr(1000000));
  EXPECT_EQ(ReadAll(bs_.get(), name, 5, 10, &s), data.substr(5, 10));
  ReadAll(bs_.get(), name, d.size + 1, 0, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  Digest absent = ComputeDigest("absent blob");
  ReadAll(bs_.get(), "blobs/" + absent.hash + "/" + std::to_string(absent.size), 0, 0, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CacheProtocolTest, InterruptedWriteResumesFromCommittedSize) {
  std::string data(200000, 'r');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  Digest d = ComputeDigest(data);
  std::string name = "uploads/resume-1/blobs/" + d.hash + "/" + std::to_string(d.size);
  {
    grpc::ClientContext ctx;
    bs::WriteResponse resp;
    auto writer = bs_->Write(&ctx, &resp);
    bs::WriteRequest w;
    w.set_resource_name(name);
    w.set_data(data.substr(0, 70000));
    ASSERT_TRUE(writer->Write(w));
    writer->WritesDone();  // stops without finish_write: an interrupted upload
    EXPECT_FALSE(writer->Finish().ok());
  }
  grpc::ClientContext qctx;
  bs::QueryWriteStatusRequest q;
  q.set_resource_name(name);
  bs::QueryWriteStatusResponse qr;
  ASSERT_TRUE(bs_->QueryWriteStatus(&qctx, q, &qr).ok());
  EXPECT_EQ(qr.committed_size(), 70000);
  EXPECT_FALSE(qr.complete());
  {
    grpc::ClientContext ctx;
    bs::WriteResponse resp;
    auto writer = bs_->Write(&ctx, &resp);
    bs::WriteRequest w;
    w.set_resource_name(name);
    w.set_write_offset(qr.committed_size());
    w.set_data(data.substr(70000));
    w.set_finish_write(true);
    ASSERT_TRUE(writer->Write(w));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
    EXPECT_EQ(resp.committed_size(), d.size);
  }
  grpc::Status s;
  EXPECT_EQ(ReadAll(bs_.get(), "blobs/" + d.hash + "/" + std::to_string(d.size), 0, 0, &s), data);
  grpc::ClientContext q2;
  ASSERT_TRUE(bs_->QueryWriteStatus(&q2, q, &qr).ok());
  EXPECT_TRUE(qr.complete());
}

TEST_F(CacheProtocolTest, ActionResultIsServedOnlyWhileOutputsArePresent) {
  re::Digest out = Upload("output file");
  Digest action = ComputeDigest("action 1");
  re::ActionResult result;
  auto* f = result.add_output_files();
  f->set_path("bazel-out/x");
  *f->mutable_digest() = out;
  result.set_exit_code(0);
  {
    grpc::ClientContext ctx;
    re::UpdateActionResultRequest req;
    req.mutable_action_digest()->set_hash(action.hash);
    req.mutable_action_digest()->set_size_bytes(action.size);
    *req.mutable_action_result() = result;
    re::ActionResult resp;
    ASSERT_TRUE(ac_->UpdateActionResult(&ctx, req, &resp).ok());
  }
  re::GetActionResultRequest get;
  get.mutable_action_digest()->set_hash(action.hash);
  get.mutable_action_digest()->set_size_bytes(action.size);
  get.add_inline_output_files("bazel-out/x");
  {
    grpc::ClientContext ctx;
    re::ActionResult resp;
    ASSERT_TRUE(ac_->GetActionResult(&ctx, get, &resp).ok());
    EXPECT_EQ(resp.output_files(0).path(), "bazel-out/x");
    EXPECT_EQ(resp.output_files(0).contents(), "output file");
  }
  // An entry naming a blob the store does not have is a miss, not a hit.
  Digest action2 = ComputeDigest("action 2");
  Digest gone = ComputeDigest("never stored output");
  result.mutable_output_files(0)->mutable_digest()->set_hash(gone.hash);
  result.mutable_output_files(0)->mutable_digest()->set_size_bytes(gone.size);
  {
    grpc::ClientContext ctx;
    re::UpdateActionResultRequest req;
    req.mutable_action_digest()->set_hash(action2.hash);
    req.mutable_action_digest()->set_size_bytes(action2.size);
    *req.mutable_action_result() = result;
    re::ActionResult resp;
    ASSERT_TRUE(ac_->UpdateActionResult(&ctx, req, &resp).ok());
  }
  grpc::ClientContext ctx;
  get.mutable_action_digest()->set_hash(action2.hash);
  get.mutable_action_digest()->set_size_bytes(action2.size);
  re::ActionResult resp;
  EXPECT_EQ(ac_->GetActionResult(&ctx, get, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  // Another instance name is another action cache.
  grpc::ClientContext ctx3;
  get.set_instance_name("elsewhere");
  get.mutable_action_digest()->set_hash(action.hash);
  get.mutable_action_digest()->set_size_bytes(action.size);
  EXPECT_EQ(ac_->GetActionResult(&ctx3, get, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CacheProtocolTest, GetTreeWalksDirectoriesInPages) {
  re::Directory leaf1, leaf2, root;
  leaf1.add_files()->set_name("a.txt");
  leaf2.add_files()->set_name("b.txt");
  re::Digest d1 = Upload(leaf1.SerializeAsString());
  re::Digest d2 = Upload(leaf2.SerializeAsString());
  auto* n1 = root.add_directories();
  n1->set_name("one");
  *n1->mutable_digest() = d1;
  auto* n2 = root.add_directories();
  n2->set_name("two");
  *n2->mutable_digest() = d2;
  re::Digest rd = Upload(root.SerializeAsString());
  grpc::ClientContext ctx;
  re::GetTreeRequest req;
  *req.mutable_root_digest() = rd;
  req.set_page_size(2);
  auto reader = cas_->GetTree(&ctx, req);
  re::GetTreeResponse page;
  std::vector<int> page_sizes;
  std::string first_token;
  while (reader->Read(&page)) {
    page_sizes.push_back(page.directories_size());
    if (first_token.empty()) first_token = page.next_page_token();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(page_sizes, (std::vector<int>{2, 1}));
  // Resuming from the first page's token returns the rest.
  grpc::ClientContext ctx2;
  req.set_page_token(first_token);
  req.set_page_size(0);
  auto reader2 = cas_->GetTree(&ctx2, req);
  int rest = 0;
  while (reader2->Read(&page)) rest += page.directories_size();
  ASSERT_TRUE(reader2->Finish().ok());
  EXPECT_EQ(rest, 1);
}

}  // namespace
}  // namespace cifs::testing
