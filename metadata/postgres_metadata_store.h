// The metadata stores on a PostgreSQL database that several farm nodes
// share. Writes raise NOTIFY from triggers in the writing transaction; a
// listener connection turns them into this node's ChangeSignals, so a live
// page on one node sees a change made on another.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metadata/change_signal.h"
#include "metadata/metadata_store.h"

namespace cifs {

namespace pg {
struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
class Query;
}  // namespace pg

class PostgresMetadataStore final : public MetadataBackend,
                                    public BuildStore,
                                    public RevocationStore,
                                    public SessionStore,
                                    public RepoStore,
                                    public WorkspaceStore,
                                    public PullRequestStore,
                                    public ClusterStore {
 public:
  // `uri`: postgresql://…; the schema is created if missing.
  [[nodiscard]] static Result<std::unique_ptr<PostgresMetadataStore>> Open(const std::string& uri);
  ~PostgresMetadataStore() override;

  MetadataStores stores() override {
    return {this, this, this, this, this, this, this, &changes_, &revocation_changes_};
  }

  Status UpsertBuild(const v1::Build& build) override;
  Result<std::optional<v1::Build>> GetBuild(const std::string& id) override;
  Result<std::vector<v1::Build>> ListBuilds(const std::string& user, int limit) override;
  Status AppendBuildLog(const std::string& id, int64_t offset, const std::string& data) override;
  Result<std::string> ReadBuildLog(const std::string& id, int64_t offset, int64_t max_bytes) override;
  Status PutRevocation(const Revocation& r) override;
  Result<std::vector<Revocation>> ListRevocations() override;
  Status PutWebSession(const WebSession& s) override;
  Result<std::optional<WebSession>> GetWebSession(const std::string& token_hash) override;
  Result<std::optional<WebSession>> TakeWebSession(const std::string& token_hash) override;
  Status DeleteExpiredWebSessions(int64_t now_ms) override;
  Status InsertRepo(const v1::Repo& repo) override;
  Result<std::optional<v1::Repo>> GetRepo(const std::string& name) override;
  Result<std::vector<v1::Repo>> ListRepos() override;
  Status InsertWorkspace(const v1::Workspace& ws) override;
  Result<std::optional<v1::Workspace>> GetWorkspace(const std::string& name) override;
  Result<std::vector<v1::Workspace>> ListWorkspaces(const std::string& owner) override;
  Status DeleteWorkspace(const std::string& name) override;
  Status InsertPullRequest(v1::PullRequest* pr) override;
  Status UpdatePullRequest(v1::PullRequest* pr) override;
  Result<std::optional<v1::PullRequest>> GetPullRequest(int64_t number) override;
  Result<std::vector<v1::PullRequest>> ListPullRequests(const v1::ListPullRequestsRequest& filter) override;
  Status Heartbeat(const std::string& node, int64_t alive_until_ms) override;
  Result<std::vector<int64_t>> TakeOverPullRequests(const std::string& node, int64_t now_ms) override;

 private:
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  PostgresMetadataStore(Passkey, std::string uri) : uri_(std::move(uri)) {}

 private:
  friend class pg::Query;
  static constexpr size_t kMaxConnections = 16;

  Result<pg::Conn> Connect();
  // A connection of the pool, given back by Release. No lock is held while
  // it talks to the server.
  Result<pg::Conn> Acquire();
  void Release(pg::Conn conn);
  void Listen();

  template <typename Message>
  Result<std::optional<Message>> GetRecord(const char* sql, const std::string& key);
  template <typename Message>
  Result<std::vector<Message>> ListRecords(const char* sql, std::vector<std::string> params);

  const std::string uri_;
  std::mutex mu_;
  std::condition_variable released_;
  std::vector<pg::Conn> idle_;
  size_t open_ = 0;
  ChangeSignal changes_;
  ChangeSignal revocation_changes_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
};

}  // namespace cifs
