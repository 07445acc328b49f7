// Small file helpers with Status errors.
#pragma once

#include <string>

#include "common/status.h"

namespace cifs {

Result<std::string> ReadFile(const std::string& path);
// Writes via a temporary file, fsync and rename, so readers never see half a file.
Status WriteFileAtomic(const std::string& path, const std::string& data, int mode = 0644);
Status MakeDirs(const std::string& path, int mode = 0755);
// `name` looked up in PATH (or as given when it holds a '/').
Result<std::string> FindExecutable(const std::string& name);

}  // namespace cifs
