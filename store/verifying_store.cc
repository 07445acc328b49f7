#include "store/verifying_store.h"

namespace cifs {

namespace {

Status Mismatch(const Digest& d) {
  return Status::DataLoss("blob " + d.ToString() + " came back with other bytes than its digest names");
}

class VerifyingReader final : public BlobReader {
 public:
  VerifyingReader(std::unique_ptr<BlobReader> base, Digest digest) : base_(std::move(base)), digest_(std::move(digest)) {}

  int64_t size() const override { return digest_.size; }

  Status Read(int64_t offset, size_t max_bytes, std::string* out) override {
    size_t before = out->size();
    CIFS_RETURN_IF_ERROR(base_->Read(offset, max_bytes, out));
    std::string_view got = std::string_view(*out).substr(before);
    if (!in_order_ || offset != hashed_) {
      in_order_ = false;
      return Status::Ok();
    }
    sha_.Update(got);
    hashed_ += static_cast<int64_t>(got.size());
    if (hashed_ > digest_.size || (hashed_ == digest_.size && !checked_ && sha_.FinishHex() != digest_.hash)) {
      out->resize(before);
      return Mismatch(digest_);
    }
    if (hashed_ == digest_.size) checked_ = true;
    return Status::Ok();
  }

 private:
  std::unique_ptr<BlobReader> base_;
  Digest digest_;
  Sha256 sha_;
  int64_t hashed_ = 0;
  bool in_order_ = true;
  bool checked_ = false;
};

}  // namespace

Result<std::string> VerifyingContentStore::Get(const Digest& digest) {
  auto data = base()->Get(digest);
  if (!data.ok()) return data;
  Sha256 sha;
  sha.Update(*data);
  if (static_cast<int64_t>(data->size()) != digest.size || sha.FinishHex() != digest.hash) return Mismatch(digest);
  return data;
}

Result<std::unique_ptr<BlobReader>> VerifyingContentStore::OpenRead(const Digest& digest) {
  auto reader = base()->OpenRead(digest);
  if (!reader.ok()) return reader;
  if ((*reader)->size() != digest.size) return Mismatch(digest);
  return std::unique_ptr<BlobReader>(std::make_unique<VerifyingReader>(std::move(*reader), digest));
}

}  // namespace cifs
