// MetadataStore on SQLite (WAL mode), for a single farm node.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>

#include "metadata/metadata_store.h"

namespace cifs {

class SqliteMetadataStore : public MetadataStore {
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

 private:
  SqliteMetadataStore() = default;
  Status Exec(const char* sql);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace cifs
