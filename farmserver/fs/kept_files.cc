#include "farmserver/fs/kept_files.h"

#include "common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cifs {

uint64_t KeptFiles::Keep(UniqueFd fd) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_size > kMaxKeptBytes) return 0;
  // Closed after the lock: the last close of an unlinked file frees its
  // blocks.
  std::vector<std::shared_ptr<UniqueFd>> let_go;
  std::lock_guard lock(mu_);
  kept_.push_back({++last_id_, st.st_size, std::make_shared<UniqueFd>(std::move(fd))});
  bytes_ += st.st_size;
  while (kept_.size() > kMaxKept || bytes_ > kMaxKeptBytes) {
    bytes_ -= kept_.front().bytes;
    let_go.push_back(std::move(kept_.front().fd));
    kept_.pop_front();
  }
  return last_id_;
}

int KeptFiles::Read(uint64_t id, int64_t offset, size_t size, std::string* out) {
  std::shared_ptr<UniqueFd> fd;
  {
    std::lock_guard lock(mu_);
    for (const Kept& k : kept_) {
      if (k.id == id) fd = k.fd;
    }
  }
  if (!fd) return ESTALE;
  out->resize(size);
  ssize_t got = PreadFull(fd->get(), out->data(), size, offset);
  if (got < 0) return errno;
  out->resize(static_cast<size_t>(got));
  return 0;
}

}  // namespace cifs
