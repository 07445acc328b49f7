// A build log is stored as chunks, each at its byte offset in the whole log.
// Both backends read a range the same way: the chunk holding `offset` and
// those after it, cut to the range.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace cifs {

// Appends to `out` the part of the chunk at `start` that lies at or after
// `offset`, without growing `out` past `max_bytes`.
inline void AppendLogChunk(std::string* out, int64_t offset, int64_t max_bytes, int64_t start,
                           const std::string& data) {
  int64_t skip = offset > start ? offset - start : 0;
  int64_t room = max_bytes - static_cast<int64_t>(out->size());
  if (skip >= static_cast<int64_t>(data.size()) || room <= 0) return;
  int64_t take = std::min<int64_t>(static_cast<int64_t>(data.size()) - skip, room);
  out->append(data, static_cast<size_t>(skip), static_cast<size_t>(take));
}

}  // namespace cifs
