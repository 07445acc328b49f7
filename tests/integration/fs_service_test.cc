// The farm side of mounts (WorkspaceFs): nothing outside a workspace is
// reachable, whatever path or symlink a client sends, and only the owner or
// an admin may use a workspace. Real farm, real TLS, real git workspace.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cifs/v1/fs.grpc.pb.h"
#include "common/digest.h"
#include "tests/integration/dev_farm.h"

namespace cifs::testing {
namespace {

namespace fs = std::filesystem;

class FsServiceTest : public SharedFarmTest {
 protected:
  static void SetUpTestSuite() {
    SharedFarmTest::SetUpTestSuite();
    std::string up = farm_->dir() + "/upstream";
    fs::create_directories(up);
    std::ofstream(up + "/README.md") << "hello\n";
    for (auto argv : std::vector<std::vector<std::string>>{
             {"git", "-C", up, "init", "-q", "-b", "main"},
             {"git", "-C", up, "add", "-A"},
             {"git", "-C", up, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"}}) {
      ASSERT_EQ(RunCommand(argv).exit_code, 0);
    }
    std::vector<std::string> admin = {"CIFS_CONFIG=" + farm_->config("admin")};
    ASSERT_EQ(RunCommand({DevFarm::Cifs(), "admin", "repo", "add", "sample", "--url", up}, admin).exit_code, 0);
    ASSERT_EQ(RunCommand({DevFarm::Cifs(), "admin", "workspace", "create", "alice-ws", "--owner", "alice", "--repo",
                          "sample"},
                         admin)
                  .exit_code,
              0);
    // Something outside the workspace that must stay unreachable, and
    // symlinks in the workspace pointing at it.
    outside_ = farm_->dir() + "/outside";
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/secret") << "farm secret\n";
    ws_ = farm_->dir() + "/workspaces/alice-ws";
    fs::create_directory_symlink(outside_, ws_ + "/escape");
    fs::create_directory_symlink("../../outside", ws_ + "/relative-escape");
    fs::create_symlink(outside_ + "/secret", ws_ + "/secret-link");
  }

  std::unique_ptr<v1::WorkspaceFs::Stub> Stub(const std::string& user) {
    return v1::WorkspaceFs::NewStub(farm_->Channel(user));
  }

  // Lookup as alice; returns the gRPC code, *err the errno.
  grpc::StatusCode Lookup(const std::string& path, int* err, v1::Attr* attr = nullptr) {
    grpc::ClientContext ctx;
    v1::PathRequest req;
    req.set_workspace("alice-ws");
    req.set_path(path);
    v1::EntryResponse resp;
    grpc::Status s = Stub("alice")->Lookup(&ctx, req, &resp);
    *err = resp.error();
    if (attr) *attr = resp.attr();
    return s.error_code();
  }

  static inline std::string outside_, ws_;
};

TEST_F(FsServiceTest, OwnerReadsWorkspaceWithHashes) {
  int err = -1;
  v1::Attr attr;
  EXPECT_EQ(Lookup("README.md", &err, &attr), grpc::StatusCode::OK);
  EXPECT_EQ(err, 0);
  Sha256 sha;
  sha.Update("hello\n");
  EXPECT_EQ(attr.hash(), sha.FinishHex());
  EXPECT_EQ(attr.size(), 6);

  grpc::ClientContext ctx;
  v1::ReadDirRequest req;
  req.set_workspace("alice-ws");
  req.set_hash_limit_bytes(1 << 20);
  v1::ReadDirResponse dir;
  ASSERT_TRUE(Stub("alice")->ReadDir(&ctx, req, &dir).ok());
  bool saw_readme = false, saw_git = false;
  for (const auto& e : dir.entries()) {
    saw_readme |= e.name() == "README.md" && e.attr().hash() == attr.hash();
    saw_git |= e.name() == ".git" && e.attr().type() == v1::Attr::DIRECTORY;
  }
  EXPECT_TRUE(saw_readme);
  EXPECT_TRUE(saw_git);
}

TEST_F(FsServiceTest, DotDotAndAbsolutePathsAreRefused) {
  for (const std::string path : {"..", "../outside/secret", "a/../../outside", "/etc/passwd", ".", "./README.md",
                                 "a//b", "README.md/"}) {
    int err = 0;
    EXPECT_EQ(Lookup(path, &err), grpc::StatusCode::INVALID_ARGUMENT) << path;
  }
  grpc::ClientContext ctx;
  v1::WriteRequest w;
  w.set_workspace("alice-ws");
  w.set_path("../../outside/evil");
  w.set_data("x");
  v1::EntryResponse resp;
  EXPECT_EQ(Stub("alice")->Write(&ctx, w, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx2;
  v1::RenameRequest r;
  r.set_workspace("alice-ws");
  r.set_from("README.md");
  r.set_to("../README.md");
  v1::ChangeResponse cr;
  EXPECT_EQ(Stub("alice")->Rename(&ctx2, r, &cr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(fs::exists(outside_ + "/evil"));
  EXPECT_TRUE(fs::exists(ws_ + "/README.md"));
}

TEST_F(FsServiceTest, SymlinksAreReportedButNeverFollowed) {
  int err = 0;
  v1::Attr attr;
  ASSERT_EQ(Lookup("escape", &err, &attr), grpc::StatusCode::OK);
  EXPECT_EQ(attr.type(), v1::Attr::SYMLINK);
  EXPECT_EQ(attr.symlink_target(), outside_);
  for (const std::string path : {"escape/secret", "relative-escape/secret"}) {
    ASSERT_EQ(Lookup(path, &err), grpc::StatusCode::OK) << path;
    EXPECT_NE(err, 0) << path << " resolved through a symlink";
  }
  auto alice = Stub("alice");
  {  // contents through a symlink
    grpc::ClientContext ctx;
    v1::ReadFileRequest req;
    req.set_workspace("alice-ws");
    req.set_path("secret-link");
    req.set_limit(100);
    auto reader = alice->ReadFile(&ctx, req);
    v1::ReadFileChunk chunk;
    std::string got;
    int chunk_err = 0;
    while (reader->Read(&chunk)) {
      got += chunk.data();
      chunk_err |= chunk.error();
    }
    reader->Finish();
    EXPECT_EQ(got, "");
    EXPECT_EQ(chunk_err, ELOOP);
  }
  {  // a batch fetch naming the secret's path and hash
    Sha256 sha;
    sha.Update("farm secret\n");
    grpc::ClientContext ctx;
    v1::FetchRequest req;
    req.set_workspace("alice-ws");
    auto* item = req.add_items();
    item->set_path("escape/secret");
    item->set_hash(sha.FinishHex());
    item->set_size(12);
    v1::FetchResponse resp;
    ASSERT_TRUE(alice->Fetch(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.blobs_size(), 1);
    EXPECT_NE(resp.blobs(0).error(), 0);
    EXPECT_EQ(resp.blobs(0).data(), "");
  }
  {  // writes, creates, mkdir and renames into a symlinked directory
    grpc::ClientContext c1, c2, c3, c4;
    v1::EntryResponse e1, e2, e3;
    v1::ChangeResponse e4;
    v1::WriteRequest w;
    w.set_workspace("alice-ws");
    w.set_path("escape/secret");
    w.set_data("overwritten");
    ASSERT_TRUE(alice->Write(&c1, w, &e1).ok());
    EXPECT_NE(e1.error(), 0);
    v1::CreateRequest c;
    c.set_workspace("alice-ws");
    c.set_path("escape/new");
    c.set_mode(0644);
    ASSERT_TRUE(alice->Create(&c2, c, &e2).ok());
    EXPECT_NE(e2.error(), 0);
    c.set_path("relative-escape/newdir");
    ASSERT_TRUE(alice->Mkdir(&c3, c, &e3).ok());
    EXPECT_NE(e3.error(), 0);
    v1::RenameRequest r;
    r.set_workspace("alice-ws");
    r.set_from("README.md");
    r.set_to("escape/README.md");
    ASSERT_TRUE(alice->Rename(&c4, r, &e4).ok());
    EXPECT_NE(e4.error(), 0);
  }
  EXPECT_EQ(ReadText(outside_ + "/secret"), "farm secret\n");
  EXPECT_FALSE(fs::exists(outside_ + "/new"));
  EXPECT_FALSE(fs::exists(outside_ + "/newdir"));
  EXPECT_FALSE(fs::exists(outside_ + "/README.md"));
  {  // chmod of a symlink changes neither it nor what it points at
    struct stat before;
    ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &before), 0);
    grpc::ClientContext ctx;
    v1::SetAttrRequest s;
    s.set_workspace("alice-ws");
    s.set_path("secret-link");
    s.set_mode(0777);
    v1::EntryResponse resp;
    ASSERT_TRUE(alice->SetAttr(&ctx, s, &resp).ok());
    EXPECT_NE(resp.error(), 0);
    struct stat after;
    ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &after), 0);
    EXPECT_EQ(before.st_mode, after.st_mode);
  }
}

TEST_F(FsServiceTest, OnlyTheOwnerOrAnAdminMayUseAWorkspace) {
  for (const std::string user : {"bob", "lee", "admin", "alice"}) {
    grpc::ClientContext ctx;
    v1::AttachRequest req;
    req.set_workspace("alice-ws");
    v1::AttachResponse resp;
    grpc::Status s = Stub(user)->Attach(&ctx, req, &resp);
    bool allowed = user == "alice" || user == "admin";
    EXPECT_EQ(s.error_code(), allowed ? grpc::StatusCode::OK : grpc::StatusCode::PERMISSION_DENIED) << user;
    if (!allowed) {
      EXPECT_NE(s.error_message().find("belongs to alice"), std::string::npos);
    }
  }
  {  // nor read, change or watch it
    grpc::ClientContext ctx;
    v1::WriteRequest w;
    w.set_workspace("alice-ws");
    w.set_path("README.md");
    w.set_data("bob was here");
    v1::EntryResponse resp;
    EXPECT_EQ(Stub("bob")->Write(&ctx, w, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    grpc::ClientContext wctx;
    v1::WatchRequest watch;
    watch.set_workspace("alice-ws");
    auto reader = Stub("bob")->Watch(&wctx, watch);
    v1::ChangeBatch batch;
    EXPECT_FALSE(reader->Read(&batch));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(ReadText(ws_ + "/README.md"), "hello\n");
  grpc::ClientContext ctx;
  v1::AttachRequest req;
  req.set_workspace("no-such-ws");
  v1::AttachResponse resp;
  EXPECT_EQ(Stub("alice")->Attach(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace cifs::testing
