// Small file helpers with Status errors.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

Result<std::string> ReadFile(const std::string& path);
// Writes via a temporary file, fsync and rename, so readers never see half a file.
Status WriteFileAtomic(const std::string& path, const std::string& data, int mode = 0644);
Status MakeDirs(const std::string& path, int mode = 0755);
// `name` looked up in PATH (or as given when it holds a '/').
Result<std::string> FindExecutable(const std::string& name);
// Names in directory `dir` but . and .., in no order.
Result<std::vector<std::string>> ListDirNames(const std::string& dir);
// pread until `size` bytes are read or the file ends, through short reads and
// EINTR: the count read, or -1 with errno set.
ssize_t PreadFull(int fd, char* buf, size_t size, int64_t offset);
// pwrite all `size` bytes through short writes and EINTR; false with errno
// set when the disk refuses (ENOSPC, EIO).
[[nodiscard]] bool PwriteFull(int fd, const char* buf, size_t size, int64_t offset);

}  // namespace cifs
