// The metadata stores: one small interface per kind of record (builds and
// their logs, revocations, web sessions, repositories, workspaces, pull
// requests), so each service is handed only what it uses. One SQL schema
// behind them: SQLite on a single node, PostgreSQL in a cluster (see
// OpenMetadata in metadata/open_metadata.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cifs/v1/cifs.pb.h"
#include "cifs/v1/pr.pb.h"
#include "common/status.h"
#include "metadata/change_signal.h"

namespace cifs {

struct Revocation {
  std::string name;
  int64_t revoked_before_ms = 0;
  std::string by;
};

// A browser's sign-in: a one-time link (`cifs web login`) or the session it
// turned into. Only the token's hash is stored, so the database alone signs
// no one in.
struct WebSession {
  std::string token_hash;  // hex SHA-256 of the token
  std::string kind;        // "link" or "session"
  std::string user;
  std::string role;        // dev, lead, admin (from the certificate that asked)
  int64_t identity_issued_ms = 0;  // that certificate's issue time: revocation applies
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  std::string csrf;        // sessions: the token state-changing requests carry
};

class BuildStore {
 public:
  virtual ~BuildStore() = default;
  [[nodiscard]] virtual Status UpsertBuild(const v1::Build& build) = 0;
  [[nodiscard]] virtual Result<std::optional<v1::Build>> GetBuild(const std::string& id) = 0;
  // Newest first; all users when user is empty.
  [[nodiscard]] virtual Result<std::vector<v1::Build>> ListBuilds(const std::string& user, int limit) = 0;
  // The console log is append-only; offsets are byte offsets into it.
  [[nodiscard]] virtual Status AppendBuildLog(const std::string& id, int64_t offset, const std::string& data) = 0;
  [[nodiscard]] virtual Result<std::string> ReadBuildLog(const std::string& id, int64_t offset,
                                                         int64_t max_bytes) = 0;
};

class RevocationStore {
 public:
  virtual ~RevocationStore() = default;
  [[nodiscard]] virtual Status PutRevocation(const Revocation& r) = 0;
  [[nodiscard]] virtual Result<std::vector<Revocation>> ListRevocations() = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  [[nodiscard]] virtual Status PutWebSession(const WebSession& s) = 0;
  [[nodiscard]] virtual Result<std::optional<WebSession>> GetWebSession(const std::string& token_hash) = 0;
  // Removes and returns it in one step: a link signs in once, even when two
  // requests race for it (on any node).
  [[nodiscard]] virtual Result<std::optional<WebSession>> TakeWebSession(const std::string& token_hash) = 0;
  [[nodiscard]] virtual Status DeleteExpiredWebSessions(int64_t now_ms) = 0;
};

class RepoStore {
 public:
  virtual ~RepoStore() = default;
  // AlreadyExists when the name is taken.
  [[nodiscard]] virtual Status InsertRepo(const v1::Repo& repo) = 0;
  [[nodiscard]] virtual Result<std::optional<v1::Repo>> GetRepo(const std::string& name) = 0;
  [[nodiscard]] virtual Result<std::vector<v1::Repo>> ListRepos() = 0;
};

class WorkspaceStore {
 public:
  virtual ~WorkspaceStore() = default;
  // AlreadyExists when the name is taken.
  [[nodiscard]] virtual Status InsertWorkspace(const v1::Workspace& ws) = 0;
  [[nodiscard]] virtual Result<std::optional<v1::Workspace>> GetWorkspace(const std::string& name) = 0;
  // All owners when owner is empty; sorted by name.
  [[nodiscard]] virtual Result<std::vector<v1::Workspace>> ListWorkspaces(const std::string& owner) = 0;
  [[nodiscard]] virtual Status DeleteWorkspace(const std::string& name) = 0;
};

class PullRequestStore {
 public:
  virtual ~PullRequestStore() = default;
  // Gives the PR the next number (sets pr->number) and stores it.
  [[nodiscard]] virtual Status InsertPullRequest(v1::PullRequest* pr) = 0;
  // Writes `pr` if the stored record is still at pr->version() and moves it
  // (and pr) to the next version; ABORTED if another writer came first: read
  // it again and redo the change on what is there now.
  [[nodiscard]] virtual Status UpdatePullRequest(v1::PullRequest* pr) = 0;
  [[nodiscard]] virtual Result<std::optional<v1::PullRequest>> GetPullRequest(int64_t number) = 0;
  // Newest first; empty filter fields match anything. `limit` 0 means no
  // limit here (the service applies its default).
  [[nodiscard]] virtual Result<std::vector<v1::PullRequest>> ListPullRequests(
      const v1::ListPullRequestsRequest& filter) = 0;
};

// A cluster's nodes: each says it is alive; the PRs of one that stopped
// saying so are taken over by another (validated and landed there).
class ClusterStore {
 public:
  virtual ~ClusterStore() = default;
  [[nodiscard]] virtual Status Heartbeat(const std::string& node, int64_t alive_until_ms) = 0;
  // Makes `node` the owner of every unfinished PR whose owner is no longer
  // alive at `now_ms`, and returns their numbers. Each PR goes to exactly one
  // taker, however many ask at once.
  [[nodiscard]] virtual Result<std::vector<int64_t>> TakeOverPullRequests(const std::string& node,
                                                                          int64_t now_ms) = 0;
};

// One backend's stores, and the signals it raises when records change:
// `changes` for builds, workspaces and pull requests (live pages wait on it),
// `revocations` when a user is revoked (every node's Authenticator reloads).
// In a cluster both move for writes made on any node.
struct MetadataStores {
  BuildStore* builds = nullptr;
  RevocationStore* revocations = nullptr;
  SessionStore* sessions = nullptr;
  RepoStore* repos = nullptr;
  WorkspaceStore* workspaces = nullptr;
  PullRequestStore* pull_requests = nullptr;
  ClusterStore* cluster = nullptr;
  ChangeSignal* changes = nullptr;
  ChangeSignal* revocation_changes = nullptr;
};

class MetadataBackend {
 public:
  virtual ~MetadataBackend() = default;
  virtual MetadataStores stores() = 0;
};

}  // namespace cifs
