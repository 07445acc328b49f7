// The metadata stores' contract, run against every backend: SQLite always,
// PostgreSQL when CIFS_TEST_POSTGRES names a database (the
// metadata_postgres_test ctest starts one and sets it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <thread>

#include "metadata/open_metadata.h"

namespace cifs {
namespace {

std::string PostgresUri() {
  const char* uri = std::getenv("CIFS_TEST_POSTGRES");
  return uri ? uri : "";
}

class MetadataStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      spec_ = PostgresUri();
      Wipe();
    } else {
      path_ = std::filesystem::temp_directory_path() / ("cifs-meta-" + std::to_string(::getpid()) + ".db");
      std::filesystem::remove(path_);
      spec_ = path_.string();
    }
    backend_ = Open();
    md_ = backend_->stores();
  }
  void TearDown() override {
    backend_.reset();
    if (!path_.empty()) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
    }
  }
  std::unique_ptr<MetadataBackend> Open() {
    auto b = OpenMetadata(spec_);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(*b) : nullptr;
  }
  // Each test starts from an empty database.
  void Wipe() {
    auto b = OpenMetadata(spec_);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    std::string cmd = "psql -q '" + spec_ +
                      "' -c 'TRUNCATE builds, build_logs, repos, workspaces, pull_requests, web_sessions, "
                      "revocations RESTART IDENTITY' >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  std::string spec_;
  std::filesystem::path path_;
  std::unique_ptr<MetadataBackend> backend_;
  MetadataStores md_;
};

TEST_P(MetadataStoreTest, BuildsListNewestFirstPerUser) {
  for (int i = 0; i < 3; ++i) {
    v1::Build b;
    b.set_id("b" + std::to_string(i));
    b.set_user(i == 1 ? "bob" : "alice");
    b.set_start_time_ms(1000 + i);
    ASSERT_TRUE(md_.builds->UpsertBuild(b).ok());
  }
  auto alice = md_.builds->ListBuilds("alice", 10);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].id(), "b2");
  EXPECT_EQ((*alice)[1].id(), "b0");
  EXPECT_EQ(md_.builds->ListBuilds("", 10)->size(), 3u);
  EXPECT_EQ(md_.builds->ListBuilds("", 1)->size(), 1u);
  v1::Build update = **md_.builds->GetBuild("b0");
  update.set_finished(true);
  ASSERT_TRUE(md_.builds->UpsertBuild(update).ok());
  EXPECT_TRUE((*md_.builds->GetBuild("b0"))->finished());
  EXPECT_FALSE(md_.builds->GetBuild("nope")->has_value());
}

TEST_P(MetadataStoreTest, LogReadsFromAnyOffsetAndKeepsEveryByte) {
  ASSERT_TRUE(md_.builds->AppendBuildLog("b", 0, "hello ").ok());
  ASSERT_TRUE(md_.builds->AppendBuildLog("b", 6, "world\n").ok());
  ASSERT_TRUE(md_.builds->AppendBuildLog("b", 12, std::string("d\0ne\xff\n", 6)).ok());
  EXPECT_EQ(*md_.builds->ReadBuildLog("b", 0, 1000), std::string("hello world\nd\0ne\xff\n", 18));
  EXPECT_EQ(*md_.builds->ReadBuildLog("b", 3, 1000), std::string("lo world\nd\0ne\xff\n", 15));
  EXPECT_EQ(*md_.builds->ReadBuildLog("b", 8, 3), "rld");
  EXPECT_EQ(*md_.builds->ReadBuildLog("b", 18, 1000), "");
  EXPECT_EQ(*md_.builds->ReadBuildLog("other", 0, 1000), "");
}

TEST_P(MetadataStoreTest, RevocationsKeepTheLatestAndSignal) {
  uint64_t before = md_.revocation_changes->Generation();
  ASSERT_TRUE(md_.revocations->PutRevocation({"bob", 1234, "admin"}).ok());
  ASSERT_TRUE(md_.revocations->PutRevocation({"bob", 5678, "admin"}).ok());
  auto list = md_.revocations->ListRevocations();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].revoked_before_ms, 5678);
  EXPECT_EQ((*list)[0].by, "admin");
  EXPECT_GT(md_.revocation_changes->WaitForChange(before, std::chrono::seconds(5)), before);
}

TEST_P(MetadataStoreTest, ALinkIsTakenOnce) {
  WebSession s{"hash1", "link", "lee", "lead", 10, 20, 30, ""};
  ASSERT_TRUE(md_.sessions->PutWebSession(s).ok());
  auto got = md_.sessions->GetWebSession("hash1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->user, "lee");
  EXPECT_EQ((*got)->expires_ms, 30);
  auto taken = md_.sessions->TakeWebSession("hash1");
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ((*taken)->role, "lead");
  EXPECT_FALSE(md_.sessions->TakeWebSession("hash1")->has_value());
  ASSERT_TRUE(md_.sessions->PutWebSession({"hash2", "session", "bob", "dev", 1, 2, 3, "csrf"}).ok());
  ASSERT_TRUE(md_.sessions->DeleteExpiredWebSessions(3).ok());
  EXPECT_FALSE(md_.sessions->GetWebSession("hash2")->has_value());
}

TEST_P(MetadataStoreTest, NamesAreTakenOnceAndWorkspacesListByOwner) {
  v1::Repo repo;
  repo.set_name("sample");
  repo.set_url("https://example.invalid/sample.git");
  ASSERT_TRUE(md_.repos->InsertRepo(repo).ok());
  EXPECT_EQ(md_.repos->InsertRepo(repo).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ((*md_.repos->GetRepo("sample"))->url(), repo.url());
  EXPECT_EQ(md_.repos->ListRepos()->size(), 1u);
  uint64_t before = md_.changes->Generation();
  for (const char* name : {"bob-b", "alice-a", "bob-a"}) {
    v1::Workspace ws;
    ws.set_name(name);
    ws.set_owner(std::string(name).substr(0, std::string(name).find('-')));
    ws.set_repo("sample");
    ASSERT_TRUE(md_.workspaces->InsertWorkspace(ws).ok());
  }
  v1::Workspace again;
  again.set_name("bob-a");
  EXPECT_EQ(md_.workspaces->InsertWorkspace(again).code(), Status::Code::kAlreadyExists);
  auto bobs = md_.workspaces->ListWorkspaces("bob");
  ASSERT_EQ(bobs->size(), 2u);
  EXPECT_EQ((*bobs)[0].name(), "bob-a");
  EXPECT_EQ(md_.workspaces->ListWorkspaces("")->size(), 3u);
  ASSERT_TRUE(md_.workspaces->DeleteWorkspace("bob-a").ok());
  EXPECT_EQ(md_.workspaces->DeleteWorkspace("bob-a").code(), Status::Code::kNotFound);
  EXPECT_GT(md_.changes->WaitForChange(before, std::chrono::seconds(5)), before);
}

TEST_P(MetadataStoreTest, PullRequestsAreNumberedAndFiltered) {
  for (int i = 0; i < 3; ++i) {
    v1::PullRequest pr;
    pr.set_author(i == 2 ? "bob" : "alice");
    pr.set_repo("sample");
    pr.set_target_branch("main");
    pr.set_state(i == 0 ? "merged" : "open");
    pr.set_workspace("ws" + std::to_string(i));
    ASSERT_TRUE(md_.pull_requests->InsertPullRequest(&pr).ok());
    EXPECT_EQ(pr.number(), i + 1);
    EXPECT_EQ((*md_.pull_requests->GetPullRequest(pr.number()))->number(), pr.number());
  }
  v1::ListPullRequestsRequest f;
  EXPECT_EQ(md_.pull_requests->ListPullRequests(f)->size(), 3u);
  f.set_in_review(true);
  auto open = md_.pull_requests->ListPullRequests(f);
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].number(), 3);  // newest first
  f.set_author("alice");
  EXPECT_EQ(md_.pull_requests->ListPullRequests(f)->size(), 1u);
  v1::ListPullRequestsRequest page;
  page.set_before(3);
  page.set_limit(1);
  auto one = md_.pull_requests->ListPullRequests(page);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].number(), 2);
  v1::ListPullRequestsRequest by_ws;
  by_ws.set_workspace("ws2");
  EXPECT_EQ(md_.pull_requests->ListPullRequests(by_ws)->size(), 1u);
  v1::PullRequest pr = **md_.pull_requests->GetPullRequest(2);
  v1::PullRequest other_copy = pr;
  pr.set_state("approved");
  ASSERT_TRUE(md_.pull_requests->UpdatePullRequest(&pr).ok());
  EXPECT_EQ(pr.version(), other_copy.version() + 1);
  EXPECT_EQ((*md_.pull_requests->GetPullRequest(2))->state(), "approved");
  // A writer that read the record before that update loses nothing of it:
  // its write is refused, and it redoes its change on the fresh record.
  other_copy.set_title("retitled");
  EXPECT_EQ(md_.pull_requests->UpdatePullRequest(&other_copy).code(), Status::Code::kAborted);
  EXPECT_EQ((*md_.pull_requests->GetPullRequest(2))->state(), "approved");
  v1::PullRequest fresh = **md_.pull_requests->GetPullRequest(2);
  fresh.set_title("retitled");
  ASSERT_TRUE(md_.pull_requests->UpdatePullRequest(&fresh).ok());
  auto both = **md_.pull_requests->GetPullRequest(2);
  EXPECT_EQ(both.state(), "approved");
  EXPECT_EQ(both.title(), "retitled");
  pr.set_number(99);
  EXPECT_EQ(md_.pull_requests->UpdatePullRequest(&pr).code(), Status::Code::kNotFound);
  EXPECT_FALSE(md_.pull_requests->GetPullRequest(99)->has_value());
}

// Two nodes on one database: a change made through one moves the other's
// signal (NOTIFY), and each sees the other's records.
class ClusterMetadataTest : public MetadataStoreTest {};

TEST_P(ClusterMetadataTest, AnotherNodeSeesChangesAndRevocations) {
  auto other = Open();
  ASSERT_TRUE(other);
  MetadataStores node2 = other->stores();
  uint64_t seen = node2.changes->Generation();
  uint64_t seen_revocations = node2.revocation_changes->Generation();
  v1::PullRequest pr;
  pr.set_author("alice");
  pr.set_state("open");
  ASSERT_TRUE(md_.pull_requests->InsertPullRequest(&pr).ok());
  EXPECT_GT(node2.changes->WaitForChange(seen, std::chrono::seconds(2)), seen);
  pr.set_state("approved");
  seen = node2.changes->Generation();
  ASSERT_TRUE(md_.pull_requests->UpdatePullRequest(&pr).ok());
  EXPECT_GT(node2.changes->WaitForChange(seen, std::chrono::seconds(2)), seen);
  EXPECT_EQ((*node2.pull_requests->GetPullRequest(pr.number()))->state(), "approved");
  ASSERT_TRUE(md_.revocations->PutRevocation({"bob", 42, "admin"}).ok());
  EXPECT_GT(node2.revocation_changes->WaitForChange(seen_revocations, std::chrono::seconds(2)), seen_revocations);
  // Both number PRs from one sequence.
  v1::PullRequest second;
  ASSERT_TRUE(node2.pull_requests->InsertPullRequest(&second).ok());
  EXPECT_EQ(second.number(), pr.number() + 1);
}

// A dead node's PRs go to exactly one of the nodes that ask, and never the
// PRs of a live node or finished ones.
TEST_P(ClusterMetadataTest, ADeadNodesPullRequestsAreTakenOverOnce) {
  ASSERT_TRUE(md_.cluster->Heartbeat("node1", 1000).ok());  // dead after t=1000
  ASSERT_TRUE(md_.cluster->Heartbeat("node2", 5000).ok());
  std::vector<int64_t> dead_owned;
  for (const char* owner : {"node1", "node1", "node2", "node1"}) {
    v1::PullRequest pr;
    pr.set_state(dead_owned.size() == 1 ? "merged" : "open");
    pr.set_node(owner);
    ASSERT_TRUE(md_.pull_requests->InsertPullRequest(&pr).ok());
    if (std::string(owner) == "node1" && pr.state() == "open") dead_owned.push_back(pr.number());
    if (std::string(owner) == "node1" && pr.state() == "merged") dead_owned.push_back(-1);
  }
  std::erase(dead_owned, -1);
  ASSERT_EQ(dead_owned.size(), 2u);
  // Three takers at once, alive themselves (a node beats before it takes).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(md_.cluster->Heartbeat("taker" + std::to_string(i), 5000).ok());
  std::vector<std::vector<int64_t>> taken(3);
  std::vector<std::thread> takers;
  for (int i = 0; i < 3; ++i) {
    takers.emplace_back([&, i] {
      auto got = md_.cluster->TakeOverPullRequests("taker" + std::to_string(i), 2000);
      if (got.ok()) taken[i] = *got;
    });
  }
  for (auto& t : takers) t.join();
  std::vector<int64_t> all;
  for (const auto& t : taken) all.insert(all.end(), t.begin(), t.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, dead_owned);
  for (int i = 0; i < 3; ++i) {
    for (int64_t n : taken[i]) EXPECT_EQ((*md_.pull_requests->GetPullRequest(n))->node(), "taker" + std::to_string(i));
  }
  // The owner survives a record write made from a copy that still names
  // the old one (the owner is the column's, not the record's).
  v1::PullRequest stale = **md_.pull_requests->GetPullRequest(dead_owned[0]);
  stale.set_state("approved");
  stale.set_node("node1");
  ASSERT_TRUE(md_.pull_requests->UpdatePullRequest(&stale).ok());
  EXPECT_NE((*md_.pull_requests->GetPullRequest(dead_owned[0]))->node(), "node1");
  // node2 is alive at 2000: nothing of it moves.
  EXPECT_TRUE(md_.cluster->TakeOverPullRequests("taker9", 2000)->empty());
}

std::vector<std::string> Backends() {
  std::vector<std::string> b{"sqlite"};
  if (!PostgresUri().empty()) b.push_back("postgresql");
  return b;
}

INSTANTIATE_TEST_SUITE_P(Backends, MetadataStoreTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param; });
// Only a shared database has more than one node (a SQLite file has one
// writing process); without one, the suite is left out here and run by
// metadata_postgres_test.
std::vector<std::string> SharedBackends() {
  if (PostgresUri().empty()) return {};
  return {"postgresql"};
}
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ClusterMetadataTest);
INSTANTIATE_TEST_SUITE_P(Backends, ClusterMetadataTest, ::testing::ValuesIn(SharedBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cifs
