// Files removed or replaced through a mount whose kernel may still hold them
// open, and whose contents the mount never fetched. The farm keeps each one
// open (an unlinked inode lives as long as a descriptor does), so such a
// reader still reads what it opened, as on a local disk. Bounded per
// workspace, in files and in the disk they hold after removal: the oldest
// is let go first, and its reader then gets ESTALE.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace cifs {

class KeptFiles {
 public:
  static constexpr size_t kMaxKept = 128;
  static constexpr int64_t kMaxKeptBytes = 1LL << 30;

  // Keeps `fd` (a regular file's); returns its id, or 0 when it is not kept
  // (larger than kMaxKeptBytes alone).
  uint64_t Keep(UniqueFd fd);
  // Up to `size` bytes from `offset` of kept file `id` into *out: 0 or
  // errno; ESTALE when `id` is not kept (any more).
  int Read(uint64_t id, int64_t offset, size_t size, std::string* out);

 private:
  std::mutex mu_;
  struct Kept {
    uint64_t id;
    int64_t bytes;
    std::shared_ptr<UniqueFd> fd;
  };
  uint64_t last_id_ = 0;
  int64_t bytes_ = 0;
  std::deque<Kept> kept_;  // oldest first
};

}  // namespace cifs
