#include "store/digest_check.h"

namespace cifs {

Status DigestCheck::Add(std::string_view data) {
  if (written_ + static_cast<int64_t>(data.size()) > digest_.size) {
    return Status::InvalidArgument("more bytes than the digest's size " + std::to_string(digest_.size));
  }
  hash_.Update(data);
  written_ += static_cast<int64_t>(data.size());
  return Status::Ok();
}

Status DigestCheck::CheckSize() const {
  if (written_ == digest_.size) return Status::Ok();
  return Status::InvalidArgument("blob has " + std::to_string(written_) + " bytes, its digest says " +
                                 std::to_string(digest_.size));
}

Status DigestCheck::CheckHash() {
  std::string actual = hash_.FinishHex();
  if (actual == digest_.hash) return Status::Ok();
  return Status::InvalidArgument("blob content does not match its digest: expected " + digest_.hash + ", got " +
                                 actual + "; nothing was stored");
}

}  // namespace cifs
