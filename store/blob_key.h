// The 40-byte key every store files a blob under: the 32 raw bytes of its
// SHA-256 and its size, big-endian. Raw bytes halve the key against hex, and
// keys that start with the hash spread evenly over any index.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/digest.h"

namespace cifs {

std::string DigestKey(const Digest& d);
// The same key written into `out` (40 bytes), without allocating.
std::string_view DigestKeyInto(DigestRef d, char* out);
inline std::string_view DigestKeyInto(const Digest& d, char* out) { return DigestKeyInto(DigestRef{d.hash, d.size}, out); }
Digest DigestFromKey(std::string_view key);

// Big-endian integers of `bytes` bytes, as keys and records store them.
void PutBe(std::string* out, uint64_t v, int bytes);
uint64_t GetBe(std::string_view in, size_t pos, int bytes);

}  // namespace cifs
