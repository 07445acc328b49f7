// Content digests: SHA-256 hash (lower-case hex) plus size in bytes, the same
// identity REAPI uses, so workspace files and Bazel blobs share one store.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cifs {

struct Digest {
  std::string hash;  // 64 lower-case hex characters
  int64_t size = 0;

  bool operator==(const Digest&) const = default;
  std::string ToString() const { return hash + "/" + std::to_string(size); }
};

// A digest borrowed from elsewhere (a request), for lookups without copies.
struct DigestRef {
  std::string_view hash;
  int64_t size = 0;
};

struct DigestHash {
  size_t operator()(const Digest& d) const;
};

// Validates a hash string and size as they arrive from a client.
Status ValidateDigest(std::string_view hash, int64_t size);

// The digest of an empty blob; REAPI clients may ask for it without uploading.
const Digest& EmptyDigest();

// Incremental SHA-256. Copyable, so a resumable upload can checkpoint it.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);
  Sha256(Sha256&&) noexcept = default;
  Sha256& operator=(Sha256&&) noexcept = default;
  ~Sha256() = default;

  void Update(std::string_view data);
  // Finishes and returns lower-case hex; the object must not be updated after.
  std::string FinishHex();

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

Digest ComputeDigest(std::string_view data);
Result<Digest> ComputeFileDigest(const std::string& path);

}  // namespace cifs
