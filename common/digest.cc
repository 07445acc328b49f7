#include "common/digest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <array>
#include <functional>
#include <vector>

namespace cifs {

size_t DigestHash::operator()(const Digest& d) const {
  // The hash is already uniformly distributed; its first 16 hex digits suffice.
  size_t h = 0;
  for (size_t i = 0; i < 16 && i < d.hash.size(); ++i) h = h * 31 + static_cast<unsigned char>(d.hash[i]);
  return h ^ std::hash<int64_t>()(d.size);
}

Status ValidateDigest(std::string_view hash, int64_t size) {
  if (hash.size() != 64) {
    return Status::InvalidArgument("digest hash must be 64 hex characters (SHA-256), got " +
                                   std::to_string(hash.size()));
  }
  // Branch-free per character: this runs for every digest of every
  // FindMissingBlobs call.
  static constexpr auto kHex = [] {
    std::array<bool, 256> t{};
    for (char c = '0'; c <= '9'; ++c) t[static_cast<unsigned char>(c)] = true;
    for (char c = 'a'; c <= 'f'; ++c) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  bool ok = true;
  for (char c : hash) ok &= kHex[static_cast<unsigned char>(c)];
  if (!ok) return Status::InvalidArgument("digest hash must be lower-case hex");
  if (size < 0) return Status::InvalidArgument("digest size must not be negative");
  return Status::Ok();
}

const Digest& EmptyDigest() {
  static const Digest kEmpty{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0};
  return kEmpty;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }

Sha256::Sha256(const Sha256& other) : ctx_(EVP_MD_CTX_new()) {
  EVP_MD_CTX_copy_ex(ctx_.get(), other.ctx_.get());
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this != &other) {
    ctx_.reset(EVP_MD_CTX_new());
    EVP_MD_CTX_copy_ex(ctx_.get(), other.ctx_.get());
  }
  return *this;
}

void Sha256::Update(std::string_view data) { EVP_DigestUpdate(ctx_.get(), data.data(), data.size()); }

std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

Digest ComputeDigest(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return {h.FinishHex(), static_cast<int64_t>(data.size())};
}

Result<Digest> ComputeFileDigest(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("open " + path, errno);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::IoError("read " + path, e);
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), n));
    total += n;
  }
  ::close(fd);
  return Digest{h.FinishHex(), total};
}

}  // namespace cifs
