// Message size limits shared by the REAPI services.
#pragma once

#include <cstdint>

namespace cifs {

// gRPC's default maximum message size; Bazel 4.2.3 uses it too.
constexpr int64_t kMaxMessageBytes = 4 << 20;
// Batch calls carry blob bytes plus framing; leave room for the latter.
constexpr int64_t kMaxBatchBlobBytes = kMaxMessageBytes - (64 << 10);
// Per-stream HTTP/2 receive window: what one upload may have in flight.
constexpr int kStreamWindowBytes = 16 << 20;
// ByteStream.Read chunks: well under the message limit.
constexpr int64_t kReadChunkBytes = 1 << 20;

}  // namespace cifs
