#include "store/disk_reserve.h"

#include <sys/statvfs.h>

#include <cerrno>

namespace cifs {

Status CheckDiskReserve(const std::string& path, int64_t incoming_bytes, int64_t min_free_bytes) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return Status::IoError("cannot stat " + path, errno);
  int64_t free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  if (free_bytes - incoming_bytes < min_free_bytes) {
    // Said the same way on the farm and in fsd's local store: which disk.
    return Status::ResourceExhausted("disk is full for " + path + ": " + std::to_string(free_bytes >> 20) +
                                     " MiB free, a blob of " + std::to_string(incoming_bytes >> 20) +
                                     " MiB would leave less than the reserved " +
                                     std::to_string(min_free_bytes >> 20) + " MiB");
  }
  return Status::Ok();
}

}  // namespace cifs
