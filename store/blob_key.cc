#include "store/blob_key.h"

#include <array>

namespace cifs {

namespace {

// Callers validated the hex already; a table beats branches per character.
constexpr auto kHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  return t;
}();
int HexVal(char c) { return kHexValue[static_cast<unsigned char>(c)]; }

}  // namespace

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBe(std::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

std::string DigestKey(const Digest& d) {
  char buf[40];
  return std::string(DigestKeyInto(d, buf));
}

std::string_view DigestKeyInto(DigestRef d, char* out) {
  for (size_t i = 0; i < 32 && 2 * i + 1 < d.hash.size(); ++i) {
    out[i] = static_cast<char>(HexVal(d.hash[2 * i]) << 4 | HexVal(d.hash[2 * i + 1]));
  }
  uint64_t size = static_cast<uint64_t>(d.size);
  for (int i = 0; i < 8; ++i) out[32 + i] = static_cast<char>((size >> (56 - 8 * i)) & 0xff);
  return {out, 40};
}

Digest DigestFromKey(std::string_view key) {
  static const char* kHex = "0123456789abcdef";
  Digest d;
  d.hash.resize(64);
  for (int i = 0; i < 32; ++i) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    d.hash[2 * i] = kHex[c >> 4];
    d.hash[2 * i + 1] = kHex[c & 15];
  }
  d.size = static_cast<int64_t>(GetBe(key, 32, 8));
  return d;
}

}  // namespace cifs
