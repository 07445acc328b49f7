#include "metadata/open_metadata.h"

#include "metadata/postgres_metadata_store.h"
#include "metadata/sqlite_metadata_store.h"

namespace cifs {

bool IsPostgresUri(const std::string& spec) {
  return spec.starts_with("postgresql://") || spec.starts_with("postgres://");
}

Result<std::unique_ptr<MetadataBackend>> OpenMetadata(const std::string& spec) {
  if (IsPostgresUri(spec)) {
    auto pg = PostgresMetadataStore::Open(spec);
    if (!pg.ok()) return pg.status();
    return std::unique_ptr<MetadataBackend>(std::move(*pg));
  }
  auto sqlite = SqliteMetadataStore::Open(spec);
  if (!sqlite.ok()) return sqlite.status();
  return std::unique_ptr<MetadataBackend>(std::move(*sqlite));
}

}  // namespace cifs
