// The free-space rule every store applies before it takes a new blob.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cifs {

// ResourceExhausted, naming the disk, when storing `incoming_bytes` under
// `path` would leave less than `min_free_bytes` free: a store refuses a blob
// rather than let the disk fill under its own records and logs.
Status CheckDiskReserve(const std::string& path, int64_t incoming_bytes, int64_t min_free_bytes);

}  // namespace cifs
