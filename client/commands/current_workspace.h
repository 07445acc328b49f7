// Which workspace a command means: the one named, or the mounted one the
// current directory is in.
#pragma once

#include <string>
#include <utility>

#include "common/client_config.h"
#include "common/status.h"

namespace cifs {

// The workspace mounted at or above the current directory, and the current
// directory's path inside it ("" at its root).
Result<std::pair<std::string, std::string>> WorkspaceFromCwd(const ClientConfig& config);

}  // namespace cifs
