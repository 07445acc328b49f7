// Names that become file names, directory names or certificate subjects
// (users, repositories, workspaces): kept boring on purpose.
#pragma once

#include <string>

#include "common/status.h"

namespace cifs {

// 1 to 64 of a-z, 0-9, '-', '_', '.', not starting with '.' or '-'.
// `what` names the kind in the error ("user", "workspace", ...).
Status ValidateName(const char* what, const std::string& name);

}  // namespace cifs
