// fsd's view of the farm's change batches against its own changes: a batch
// read before one of this mount's changes must not be applied over it, and
// none may be applied while a change is on its way back; a long listing
// skips the directories this mount changed while it was read.
#include "fsd/farm_fs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace cifs {
namespace {

// The farm's side of the calls, in process: every change gets the next number.
class NumberingFs final : public v1::WorkspaceFs::Service {
 public:
  grpc::Status Rename(grpc::ServerContext*, const v1::RenameRequest*, v1::ChangeResponse* resp) override {
    resp->set_mutation(++mutations_);
    return grpc::Status::OK;
  }
  grpc::Status Write(grpc::ServerContext*, const v1::WriteRequest*, v1::EntryResponse* resp) override {
    resp->set_mutation(++mutations_);
    return grpc::Status::OK;
  }

 private:
  std::atomic<uint64_t> mutations_{0};
};

class FarmFsTest : public ::testing::Test {
 protected:
  FarmFsTest() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    fs_ = std::make_unique<FarmFs>(server_->InProcessChannel({}), "ws", std::chrono::seconds(5));
  }
  ~FarmFsTest() override { server_->Shutdown(); }

  static v1::ChangeBatch Batch(uint64_t stat_after, std::vector<std::string> paths) {
    v1::ChangeBatch b;
    b.set_stat_after(stat_after);
    for (auto& p : paths) b.add_changes()->set_path(p);
    return b;
  }
  std::vector<std::string> Applied(const v1::ChangeBatch& batch) {
    std::vector<std::string> out;
    fs_->ApplyBatch(batch, [&](const v1::Change& c) { out.push_back(c.path()); });
    return out;
  }
  void Rename(const std::string& from, const std::string& to) {
    v1::RenameRequest r;
    r.set_from(from);
    r.set_to(to);
    v1::ChangeResponse resp;
    ASSERT_EQ(fs_->Call(&v1::WorkspaceFs::Stub::Rename, r, &resp), 0);
  }

  NumberingFs service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<FarmFs> fs_;
};

TEST_F(FarmFsTest, BatchReadBeforeOurRenameSkipsBothNamesAndWhatIsBelowThem) {
  Rename("d0", "d1");  // mutation 1
  EXPECT_EQ(Applied(Batch(0, {"d0", "d0/f5", "d1/x/y", "d10", "other"})),
            (std::vector<std::string>{"d10", "other"}));
  // Read after the rename: the farm's word stands.
  EXPECT_EQ(Applied(Batch(1, {"d0", "d1/x"})), (std::vector<std::string>{"d0", "d1/x"}));
}

TEST_F(FarmFsTest, ALongListingSkipsOnlyWhatTheMountChangedSinceItsMark) {
  uint64_t mark = fs_->QuietMark();
  bool applied = false;
  EXPECT_TRUE(fs_->IfUntouchedSince(mark, "src", [&] { applied = true; }));
  EXPECT_TRUE(applied);
  {
    auto change = fs_->BeginMutation();  // as a FUSE handler does around its call
    Rename("src/a", ".git/index.lock");
  }
  auto applies = [&](const std::string& dir) { return fs_->IfUntouchedSince(mark, dir, [] {}); };
  EXPECT_FALSE(applies("src")) << "an entry of it was renamed away";
  EXPECT_FALSE(applies(".git")) << "an entry was renamed into it";
  EXPECT_FALSE(applies("src/a")) << "it was renamed itself";
  EXPECT_FALSE(applies("src/a/b")) << "a directory above it was renamed";
  EXPECT_FALSE(applies("")) << "a directory in it changed (its mtime, in this listing)";
  EXPECT_TRUE(applies("lib")) << "untouched";
  EXPECT_TRUE(applies("src/ab")) << "a sibling whose name starts alike";
  EXPECT_TRUE(applies(".git/objects")) << "below a directory that only gained an entry";
  EXPECT_TRUE(fs_->IfUntouchedSince(fs_->QuietMark(), "src", [] {})) << "a mark after the change";
  {
    auto in_flight = fs_->BeginMutation();
    EXPECT_FALSE(fs_->IfUntouchedSince(fs_->QuietMark(), "lib", [] {})) << "a change in flight at the mark";
  }
  {
    auto in_flight = fs_->BeginMutation();
    EXPECT_FALSE(applies("lib")) << "a change in flight, its paths not known yet";
  }
}

TEST_F(FarmFsTest, ARootChangeTouchesEveryListing) {
  uint64_t mark = fs_->QuietMark();
  {
    auto change = fs_->BeginMutation();
    v1::WriteRequest w;  // a path of "" is the workspace's root
    v1::EntryResponse resp;
    ASSERT_EQ(fs_->Call(&v1::WorkspaceFs::Stub::Write, w, &resp), 0);
  }
  EXPECT_FALSE(fs_->IfUntouchedSince(mark, "deep/dir", [] {}));
  EXPECT_FALSE(fs_->IfUntouchedSince(mark, "", [] {}));
}

TEST_F(FarmFsTest, BatchWaitsForAChangeInFlight) {
  std::promise<void> release;
  std::promise<void> entered;
  std::thread op([&] {
    auto scope = fs_->BeginMutation();
    entered.set_value();
    release.get_future().wait();
  });
  entered.get_future().wait();
  auto applied = std::async(std::launch::async, [&] { return Applied(Batch(0, {"f"})); });
  EXPECT_EQ(applied.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  release.set_value();
  op.join();
  EXPECT_EQ(applied.get(), std::vector<std::string>{"f"});
}

}  // namespace
}  // namespace cifs
