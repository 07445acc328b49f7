#include "store/blob_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/files.h"
#include "store/rocksdb_store.h"

namespace cifs {

Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("cannot write blob file", errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status BlobFiles::Init() {
  CIFS_RETURN_IF_ERROR(MakeDirs(dir_ + "/tmp", 0700));
  // Uploads a crash cut short; a missing or unreadable dir has none.
  if (auto names = ListDirNames(dir_ + "/tmp"); names.ok()) {
    for (const std::string& name : *names) ::unlink((dir_ + "/tmp/" + name).c_str());
  }
  return Status::Ok();
}

std::string BlobFiles::TempPath(uint64_t gen) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(gen));
  return dir_ + "/tmp/" + name;
}

std::string BlobFiles::FinalPath(const std::string& key) const {
  Digest d = DigestFromKey(key);
  return dir_ + "/" + d.hash.substr(0, 2) + "/" + d.hash + "-" + std::to_string(d.size);
}

Result<int> BlobFiles::CreateTemp(uint64_t gen) {
  int fd = ::open(TempPath(gen).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create blob file", errno);
  return fd;
}

Status BlobFiles::Publish(uint64_t gen, const std::string& key, int fd, bool sync) {
  if (sync && ::fsync(fd) != 0) return Status::IoError("cannot sync blob file", errno);
  std::string final_path = FinalPath(key);
  std::string fan_out = final_path.substr(0, final_path.rfind('/'));
  if (::mkdir(fan_out.c_str(), 0700) != 0 && errno != EEXIST) return Status::IoError("cannot create " + fan_out, errno);
  if (::rename(TempPath(gen).c_str(), final_path.c_str()) != 0) return Status::IoError("cannot publish blob file", errno);
  if (sync) {
    int dfd = ::open(fan_out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return Status::Ok();
}

void BlobFiles::RemoveTemp(uint64_t gen) { ::unlink(TempPath(gen).c_str()); }

void BlobFiles::RemoveFinal(const std::string& key) { ::unlink(FinalPath(key).c_str()); }

Result<int> BlobFiles::OpenFinal(const std::string& key) {
  int fd = ::open(FinalPath(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open blob file", errno);
  return fd;
}

}  // namespace cifs
