// What `cifs` and fsd both know about mounts: whether a directory can take
// one, which cifs mounts the kernel has, and fsd's record of its own mounts
// (DIR/mounts.json), which outlives a killed fsd so `cifs unmount` and
// `cifs status` can still find them.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

// Ok when `path` is an absolute, existing, empty directory.
Status CheckMountpoint(const std::string& path);

// True if the kernel has a cifs FUSE mount at `path` (absolute).
bool IsCifsMount(const std::string& path);

struct MountRecord {
  std::string workspace;
  std::string mountpoint;
};
Status SaveMountRecords(const std::string& fsd_dir, const std::vector<MountRecord>& mounts);
std::vector<MountRecord> LoadMountRecords(const std::string& fsd_dir);

}  // namespace cifs
