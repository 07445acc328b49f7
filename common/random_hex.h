// Secrets made of random bytes, as lower-case hex (session tokens, keys).
#pragma once

#include <openssl/rand.h>

#include <optional>
#include <string>

namespace cifs {

// `bytes` random bytes from OpenSSL's CSPRNG as 2*bytes hex digits, or
// nothing when it has no randomness to give.
inline std::optional<std::string> RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace cifs
