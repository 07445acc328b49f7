// What every blob writer checks of the bytes it is given: never more than
// the digest's size, and at the end exactly its size and its hash. Stores
// differ only in where the bytes go.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/digest.h"
#include "common/status.h"

namespace cifs {

class DigestCheck {
 public:
  explicit DigestCheck(Digest digest) : digest_(std::move(digest)) {}

  const Digest& digest() const { return digest_; }
  int64_t written() const { return written_; }
  // InvalidArgument when `data` would pass the digest's size; else hashed and counted.
  Status Add(std::string_view data);
  // InvalidArgument unless exactly the size was added.
  Status CheckSize() const;
  // The hash of what was added against the digest's: InvalidArgument naming
  // both when they differ. Call once.
  Status CheckHash();

 private:
  Digest digest_;
  Sha256 hash_;
  int64_t written_ = 0;
};

}  // namespace cifs
