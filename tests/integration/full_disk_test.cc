// A full disk on the farm: new blobs are refused with a clear error, nothing
// acknowledged is lost, and the farm keeps serving.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "common/digest.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "tests/integration/dev_farm.h"

namespace cifs::testing {
namespace {

namespace re = build::bazel::remote::execution::v2;
namespace bs = google::bytestream;

std::string ReadBack(bs::ByteStream::Stub* stub, const Digest& d, grpc::Status* status) {
  grpc::ClientContext ctx;
  bs::ReadRequest r;
  r.set_resource_name("blobs/" + d.hash + "/" + std::to_string(d.size));
  auto reader = stub->Read(&ctx, r);
  bs::ReadResponse resp;
  std::string out;
  while (reader->Read(&resp)) out += resp.data();
  *status = reader->Finish();
  return out;
}

TEST(FullDiskTest, RefusesNewBlobsKeepsOldOnesAndKeepsServing) {
  DevFarm farm(/*start=*/false);
  // The farm's whole state on a 96 MiB tmpfs: a disk that really fills up.
  ASSERT_EQ(mount("tmpfs", farm.dir().c_str(), "tmpfs", 0, "size=96m"), 0)
      << "mounting a tmpfs needs root: " << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{farm.dir()};
  {
    std::ofstream toml(farm.dir() + "/farmserver.toml");
    toml << "state-dir = \"" << farm.dir() << "\"\ngrpc-port = 0\nhttp-port = 0\nmin-free-space = \"24MiB\"\n";
  }
  ASSERT_TRUE(farm.Start());
  auto ch = farm.Channel("alice");
  auto stub = bs::ByteStream::NewStub(ch);

  std::vector<Digest> stored;
  grpc::Status refused;
  for (int i = 0; i < 40; ++i) {
    std::string data = TestBlob(i, 8 << 20);
    Digest d = ComputeDigest(data);
    auto s = WriteOnce(ch, "uploads/fill-" + std::to_string(i) + "/blobs/" + d.hash + "/" + std::to_string(d.size),
                       data);
    if (!s.ok()) {
      refused = s;
      break;
    }
    stored.push_back(d);
  }
  ASSERT_FALSE(refused.ok()) << "the disk never filled up";
  EXPECT_GE(stored.size(), 3u);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("disk is full"), std::string::npos) << refused.error_message();

  // The farm is not wedged: what still fits above the reserve is accepted.
  int code = -1;
  std::string small = "small blob on a nearly full disk";
  Digest sd = ComputeDigest(small);
  ASSERT_TRUE(BatchUpload(ch, sd.hash, sd.size, small, &code).ok());
  EXPECT_EQ(code, 0);
  stored.push_back(sd);

  // Everything acknowledged reads back intact; the farm still answers.
  for (size_t i = 0; i < stored.size(); ++i) {
    grpc::Status s;
    std::string back = ReadBack(stub.get(), stored[i], &s);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(ComputeDigest(back), stored[i]) << "blob " << i;
  }
  auto who = RunCommand({DevFarm::Cifs(), "whoami"}, {"CIFS_CONFIG=" + farm.config("alice")});
  EXPECT_EQ(who.exit_code, 0) << who.output;
  EXPECT_TRUE(std::filesystem::is_empty(farm.dir() + "/content/files/tmp")) << "no partial upload left behind";
  ASSERT_TRUE(farm.Stop());
}

}  // namespace
}  // namespace cifs::testing
