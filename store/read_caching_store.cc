#include "store/read_caching_store.h"

namespace cifs {

namespace {

// Reads from the slow store and, while the reads run front to back, writes
// the same bytes into the fast store; the copy commits (verified) when the
// last byte has passed, and is dropped if the reader jumps or is abandoned.
class CopyingReader final : public BlobReader {
 public:
  CopyingReader(std::unique_ptr<BlobReader> source, std::unique_ptr<BlobWriter> copy)
      : source_(std::move(source)), copy_(std::move(copy)) {}

  int64_t size() const override { return source_->size(); }

  Status Read(int64_t offset, size_t max_bytes, std::string* out) override {
    size_t before = out->size();
    CIFS_RETURN_IF_ERROR(source_->Read(offset, max_bytes, out));
    if (copy_ == nullptr) return Status::Ok();
    if (offset != copy_->bytes_written() ||
        !copy_->Append(std::string_view(*out).substr(before)).ok()) {
      copy_.reset();  // out of order or refused: no copy this time
      return Status::Ok();
    }
    if (copy_->bytes_written() == size()) {
      if (!copy_->Commit().ok()) {
        // Not kept (full disk, bad bytes): the next read goes to the slow
        // store again, and a verified copy never served wrong bytes.
      }
      copy_.reset();
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<BlobReader> source_;
  std::unique_ptr<BlobWriter> copy_;
};

}  // namespace

Result<std::string> ReadCachingContentStore::Get(const Digest& digest) {
  auto local = fast_->Get(digest);
  if (local.ok()) return local;
  auto data = base()->Get(digest);
  if (data.ok() && !fast_->Put(digest, *data).ok()) {
    // Not copied: the fast store is full or refuses it; the slow one serves.
  }
  return data;
}

Result<std::unique_ptr<BlobReader>> ReadCachingContentStore::OpenRead(const Digest& digest) {
  auto local = fast_->OpenRead(digest);
  if (local.ok()) return local;
  auto remote = base()->OpenRead(digest);
  if (!remote.ok()) return remote;
  auto copy = fast_->OpenWrite(digest);
  if (!copy.ok()) return remote;  // present already (a race) or refused
  return std::unique_ptr<BlobReader>(std::make_unique<CopyingReader>(std::move(*remote), std::move(*copy)));
}

}  // namespace cifs
