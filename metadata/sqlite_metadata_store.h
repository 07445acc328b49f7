// The metadata stores on one SQLite file (WAL mode), for a single farm node.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>

#include "metadata/change_signal.h"
#include "metadata/metadata_store.h"

namespace cifs {

class SqliteMetadataStore final : public MetadataBackend,
                                  public BuildStore,
                                  public RevocationStore,
                                  public SessionStore,
                                  public RepoStore,
                                  public WorkspaceStore,
                                  public PullRequestStore,
                                  public ClusterStore {
 public:
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(const std::string& path);
  ~SqliteMetadataStore() override;

  Status UpsertBuild(const v1::Build& build) override;
  Result<std::optional<v1::Build>> GetBuild(const std::string& id) override;
  Result<std::vector<v1::Build>> ListBuilds(const std::string& user, int limit) override;
  Status AppendBuildLog(const std::string& id, int64_t offset, const std::string& data) override;
  Result<std::string> ReadBuildLog(const std::string& id, int64_t offset, int64_t max_bytes) override;
  Status PutRevocation(const Revocation& r) override;
  Result<std::vector<Revocation>> ListRevocations() override;
  MetadataStores stores() override {
    return {this, this, this, this, this, this, this, &changes_, &revocation_changes_};
  }
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
  // One node: nothing to take over.
  Status Heartbeat(const std::string&, int64_t) override { return Status::Ok(); }
  Result<std::vector<int64_t>> TakeOverPullRequests(const std::string&, int64_t) override {
    return std::vector<int64_t>{};
  }

 private:
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  explicit SqliteMetadataStore(Passkey) {}

 private:
  Status Exec(const char* sql);
  // Records stored as serialized protos beside their indexed columns.
  template <typename Message>
  Result<std::optional<Message>> GetRecord(const char* sql, const std::string& key);
  template <typename Message>
  Result<std::vector<Message>> ListRecords(const char* sql, const std::string& key);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  ChangeSignal changes_;
  ChangeSignal revocation_changes_;
};

}  // namespace cifs
