// Chooses the metadata backend from the farm's configuration.
#pragma once

#include <memory>
#include <string>

#include "metadata/metadata_store.h"

namespace cifs {

// `spec` is a postgresql:// (or postgres://) connection URI for a cluster's
// shared database; anything else is the path of a SQLite file for one node.
[[nodiscard]] Result<std::unique_ptr<MetadataBackend>> OpenMetadata(const std::string& spec);

// True when `spec` names a PostgreSQL database.
bool IsPostgresUri(const std::string& spec);

}  // namespace cifs
