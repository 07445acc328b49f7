// A ContentStore that passes every call to another: the base of layers that
// change only some calls (verifying, read-caching).
#pragma once

#include "store/content_store.h"

namespace cifs {

class ForwardingContentStore : public ContentStore {
 public:
  explicit ForwardingContentStore(ContentStore* base) : base_(base) {}

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override {
    return base_->FindMissing(digests);
  }
  bool Contains(const Digest& digest) override { return base_->Contains(digest); }
  Result<std::string> Get(const Digest& digest) override { return base_->Get(digest); }
  Status Put(const Digest& digest, std::string_view data) override { return base_->Put(digest, data); }
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override { return base_->OpenRead(digest); }
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override { return base_->OpenWrite(digest); }
  Status Pin(const Digest& digest) override { return base_->Pin(digest); }
  Status Unpin(const Digest& digest) override { return base_->Unpin(digest); }
  ContentStoreStats Stats() override { return base_->Stats(); }

 protected:
  ContentStore* base() const { return base_; }

 private:
  ContentStore* base_;
};

}  // namespace cifs
