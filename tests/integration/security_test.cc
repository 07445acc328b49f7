// What the farm refuses, and that refusing stores nothing.
#include <gtest/gtest.h>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "cifs/v1/cifs.grpc.pb.h"
#include "common/digest.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "tests/integration/dev_farm.h"

namespace cifs::testing {
namespace {

namespace re = build::bazel::remote::execution::v2;
namespace bs = google::bytestream;

class SecurityTest : public SharedFarmTest {
 protected:
  static grpc::Status WhoAmI(std::shared_ptr<grpc::Channel> ch, v1::WhoAmIResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return v1::Farm::NewStub(ch)->WhoAmI(&ctx, {}, resp);
  }

  static bool Present(const Digest& d) {
    grpc::ClientContext ctx;
    re::FindMissingBlobsRequest req;
    auto* pd = req.add_blob_digests();
    pd->set_hash(d.hash);
    pd->set_size_bytes(d.size);
    re::FindMissingBlobsResponse resp;
    auto s = re::ContentAddressableStorage::NewStub(farm_->Channel("admin"))->FindMissingBlobs(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.missing_blob_digests_size() == 0;
  }
};

TEST_F(SecurityTest, ValidCertificateIsAccepted) {
  v1::WhoAmIResponse resp;
  auto s = WhoAmI(farm_->Channel("alice"), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.user(), "alice");
  EXPECT_EQ(resp.role(), "dev");
}

TEST_F(SecurityTest, NoClientCertificateIsRefused) {
  v1::WhoAmIResponse resp;
  auto s = WhoAmI(farm_->ChannelWithoutClientCert(), &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(resp.user(), "");
}

TEST_F(SecurityTest, CertificateFromAnotherCaIsRefused) {
  v1::WhoAmIResponse resp;
  auto s = WhoAmI(farm_->ChannelFromOtherCa(), &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(resp.user(), "");
  // ... on the HTTPS port too: curl with the foreign identity fails at TLS.
}

TEST_F(SecurityTest, HttpsPortRequiresCertificateOrSession) {
  // TLS lets a caller without a certificate in (a browser signs in with a
  // cookie), and the request is then refused with 401.
  std::string url = "https://localhost:" + std::to_string(farm_->http_port()) + "/healthz";
  std::string ca = farm_->dir() + "/ca/ca.crt";
  auto no_cert = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, url});
  EXPECT_EQ(no_cert.output, "401") << no_cert.output;
  auto forged = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, "-H",
                            "Cookie: __Host-cifs_session=" + std::string(64, 'a'), url});
  EXPECT_EQ(forged.output, "401") << forged.output;
  std::string user = farm_->dir() + "/users/alice/";
  auto with_cert = RunCommand({"curl", "-sS", "--fail", "--cacert", ca, "--cert", user + "client.crt", "--key",
                        user + "client.key", url});
  EXPECT_EQ(with_cert.exit_code, 0) << with_cert.output;
  EXPECT_NE(with_cert.output.find("\"status\":\"ok\""), std::string::npos) << with_cert.output;
}

TEST_F(SecurityTest, DevCannotRevokeOrListEveryonesBuilds) {
  grpc::ClientContext ctx;
  v1::RevokeUserRequest req;
  req.set_name("bob");
  v1::RevokeUserResponse resp;
  auto s = v1::Admin::NewStub(farm_->Channel("alice"))->RevokeUser(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext ctx2;
  v1::ListBuildsRequest lreq;
  lreq.set_all_users(true);
  v1::ListBuildsResponse lresp;
  EXPECT_EQ(v1::Builds::NewStub(farm_->Channel("alice"))->ListBuilds(&ctx2, lreq, &lresp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext ctx3;
  EXPECT_TRUE(v1::Builds::NewStub(farm_->Channel("lee"))->ListBuilds(&ctx3, lreq, &lresp).ok());
}

TEST_F(SecurityTest, RevokedCertificateIsRefusedOnEveryPort) {
  // A channel opened before the revocation must be cut off too.
  auto bob = farm_->Channel("bob");
  v1::WhoAmIResponse who;
  ASSERT_TRUE(WhoAmI(bob, &who).ok());
  auto r = RunCommand({DevFarm::Cifs(), "admin", "user", "revoke", "bob"}, {"CIFS_CONFIG=" + farm_->config("admin")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto s = WhoAmI(bob, &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_NE(s.error_message().find("revoked"), std::string::npos);
  // A blob upload with the revoked certificate stores nothing.
  std::string data = "bob was here";
  Digest d = ComputeDigest(data);
  EXPECT_FALSE(BatchUpload(bob, d.hash, d.size, data).ok());
  EXPECT_FALSE(Present(d));
  // HTTPS refuses it as well.
  std::string user = farm_->dir() + "/users/bob/";
  auto curl = RunCommand({"curl", "-sS", "--fail", "--cacert", farm_->dir() + "/ca/ca.crt", "--cert", user + "client.crt",
                   "--key", user + "client.key",
                   "https://localhost:" + std::to_string(farm_->http_port()) + "/healthz"});
  EXPECT_NE(curl.exit_code, 0);
  // The CLI says so in one sentence.
  auto cli = RunCommand({DevFarm::Cifs(), "whoami"}, {"CIFS_CONFIG=" + farm_->config("bob")});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.output.find("revoked"), std::string::npos) << cli.output;
  // The revocation survives a restart, and a newly issued certificate works.
  ASSERT_TRUE(farm_->Stop());
  ASSERT_TRUE(farm_->Start());
  EXPECT_EQ(WhoAmI(farm_->Channel("bob"), &who).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto add = RunCommand({DevFarm::Cifs(), "admin", "user", "add", "bob", "--role", "dev", "--farm-dir", farm_->dir(),
                  "--farm", farm_->target()});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_TRUE(WhoAmI(farm_->Channel("bob"), &who).ok());
}

TEST_F(SecurityTest, BlobWhoseBytesDoNotMatchIsRefused) {
  auto alice = farm_->Channel("alice");
  std::string data = "honest bytes";
  Digest lie = ComputeDigest("other bytes!");
  int code = 0;
  ASSERT_TRUE(BatchUpload(alice, lie.hash, lie.size, data, &code).ok());
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Present(lie));

  // Through ByteStream as well.
  auto s = WriteOnce(alice, "uploads/u-lie/blobs/" + lie.hash + "/" + std::to_string(lie.size), data);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("does not match"), std::string::npos) << s.error_message();
  EXPECT_FALSE(Present(lie));
}

TEST_F(SecurityTest, MalformedResourceNamesAreRefused) {
  auto alice = farm_->Channel("alice");
  auto stub = bs::ByteStream::NewStub(alice);
  Digest d = ComputeDigest("x");
  for (const std::string& name : std::vector<std::string>{"blobs/nothex/1", "../blobs/" + d.hash + "/1",
                                  "uploads/u/blobs/" + d.hash, "blobs/" + d.hash + "/1"}) {
    EXPECT_EQ(WriteOnce(alice, name, "x").error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
  }
  EXPECT_FALSE(Present(d));
  grpc::ClientContext ctx;
  bs::ReadRequest r;
  r.set_resource_name("blobs/" + d.hash);
  auto reader = stub->Read(&ctx, r);
  bs::ReadResponse rr;
  while (reader->Read(&rr)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A malformed digest in FindMissingBlobs is an error, not a silent miss.
  grpc::ClientContext fctx;
  re::FindMissingBlobsRequest freq;
  freq.add_blob_digests()->set_hash("zz");
  re::FindMissingBlobsResponse fresp;
  EXPECT_EQ(re::ContentAddressableStorage::NewStub(farm_->Channel("alice"))->FindMissingBlobs(&fctx, freq, &fresp)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SecurityTest, OversizedRequestIsRefused) {
  std::string data(5 << 20, 'z');  // over the 4 MiB message limit
  Digest d = ComputeDigest(data);
  auto alice = farm_->Channel("alice");
  auto s = BatchUpload(alice, d.hash, d.size, data);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_FALSE(Present(d));
  // A ByteStream write claiming more bytes than its digest says is refused.
  Digest small = ComputeDigest("abc");
  EXPECT_EQ(WriteOnce(alice, "uploads/u-big/blobs/" + small.hash + "/3", "abcdef").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Present(small));
  // A BatchReadBlobs whose answer could not fit one response is refused.
  grpc::ClientContext rctx;
  re::BatchReadBlobsRequest rreq;
  for (int i = 0; i < 5; ++i) {
    auto* rd = rreq.add_digests();
    rd->set_hash(std::string(63, '0') + std::to_string(i));
    rd->set_size_bytes(1 << 20);
  }
  re::BatchReadBlobsResponse rresp;
  EXPECT_EQ(re::ContentAddressableStorage::NewStub(farm_->Channel("alice"))->BatchReadBlobs(&rctx, rreq, &rresp)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace cifs::testing
