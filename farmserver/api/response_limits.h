// Keeping responses under gRPC's 4 MiB message limit.
#pragma once

#include <cstddef>

#include "cifs/v1/cifs.pb.h"

namespace cifs {

constexpr size_t kMaxResponseBytes = 3 << 20;
// Build log bytes per streamed message.
constexpr int64_t kLogChunkBytes = 256 << 10;

// Drops targets until the build serializes to at most max_bytes: plain built
// targets go first, then passing tests; failures stay longest. Marks the
// build targets_truncated when anything was dropped.
void TrimTargetsToFit(v1::Build* build, size_t max_bytes);

}  // namespace cifs
