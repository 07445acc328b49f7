// The metadata store: builds, their logs, revocations (later workspaces and
// PRs). One SQL schema behind this interface: SQLite on a single node,
// PostgreSQL in a cluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cifs/v1/cifs.pb.h"
#include "common/status.h"

namespace cifs {

struct Revocation {
  std::string name;
  int64_t revoked_before_ms = 0;
  std::string by;
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
};

}  // namespace cifs
