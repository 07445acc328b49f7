// Walking an action's tree from the worker's side without following any
// symlink: the action made that tree (and its input root may hold symlinks
// to anywhere), so a path like "out/x" where "out" is a symlink to / must
// never reach the worker's own files.
#pragma once

#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace cifs {

// The directory `rel` ("" for `dir_fd` itself) below `dir_fd`, each
// component a real directory, never a symlink; missing ones are made when
// `create`. NotFound when one is missing, InvalidArgument when one is a
// symlink or not a directory.
[[nodiscard]] Result<UniqueFd> OpenDirBeneath(int dir_fd, const std::string& rel, bool create);

}  // namespace cifs
