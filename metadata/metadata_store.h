// The metadata store: builds, their logs, revocations, repositories,
// workspaces and pull requests. One SQL schema behind this interface: SQLite on a single node,
// PostgreSQL in a cluster.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cifs/v1/cifs.pb.h"
#include "cifs/v1/pr.pb.h"
#include "common/status.h"

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

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  virtual Status UpsertBuild(const v1::Build& build) = 0;
  virtual Result<std::optional<v1::Build>> GetBuild(const std::string& id) = 0;
  // Newest first; all users when user is empty.
  virtual Result<std::vector<v1::Build>> ListBuilds(const std::string& user, int limit) = 0;

  // The console log is append-only; offsets are byte offsets into it.
  virtual Status AppendBuildLog(const std::string& id, int64_t offset, const std::string& data) = 0;
  virtual Result<std::string> ReadBuildLog(const std::string& id, int64_t offset, int64_t max_bytes) = 0;

  virtual Status PutRevocation(const Revocation& r) = 0;
  virtual Result<std::vector<Revocation>> ListRevocations() = 0;

  // Grows with every change to builds, workspaces or pull requests;
  // WaitForChange returns once it is past `seen` (or after `timeout`).
  virtual uint64_t Generation() = 0;
  virtual uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) = 0;

  virtual Status PutWebSession(const WebSession& s) = 0;
  virtual Result<std::optional<WebSession>> GetWebSession(const std::string& token_hash) = 0;
  // Removes and returns it in one step: a link signs in once, even when two
  // requests race for it.
  virtual Result<std::optional<WebSession>> TakeWebSession(const std::string& token_hash) = 0;
  virtual Status DeleteExpiredWebSessions(int64_t now_ms) = 0;

  // AlreadyExists when the name is taken.
  virtual Status InsertRepo(const v1::Repo& repo) = 0;
  virtual Result<std::optional<v1::Repo>> GetRepo(const std::string& name) = 0;
  virtual Result<std::vector<v1::Repo>> ListRepos() = 0;

  virtual Status InsertWorkspace(const v1::Workspace& ws) = 0;
  virtual Result<std::optional<v1::Workspace>> GetWorkspace(const std::string& name) = 0;
  // All owners when owner is empty; sorted by name.
  virtual Result<std::vector<v1::Workspace>> ListWorkspaces(const std::string& owner) = 0;
  virtual Status DeleteWorkspace(const std::string& name) = 0;

  // Gives the PR the next number (sets pr->number) and stores it.
  virtual Status InsertPullRequest(v1::PullRequest* pr) = 0;
  virtual Status UpdatePullRequest(const v1::PullRequest& pr) = 0;
  virtual Result<std::optional<v1::PullRequest>> GetPullRequest(int64_t number) = 0;
  // Newest first; empty filter fields match anything. `limit` 0 means no
  // limit here (the service applies its default).
  virtual Result<std::vector<v1::PullRequest>> ListPullRequests(const v1::ListPullRequestsRequest& filter) = 0;
};

}  // namespace cifs
