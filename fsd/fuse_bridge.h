// The libfuse low-level operation table, each entry forwarding to the Mount
// that owns the session (its userdata).
#pragma once

#include <fuse_lowlevel.h>

namespace cifs {

const fuse_lowlevel_ops& MountOperations();

}  // namespace cifs
