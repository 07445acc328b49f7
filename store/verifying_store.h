// Checks what a store hands out against the digest it was asked for. The farm
// puts this in front of every other node's shard: a peer's disk or memory
// fault must not become wrong bytes in a build.
//
// Whole-blob reads are checked before they are returned. A streamed read is
// hashed while it runs front to back and its last chunk fails with DATA_LOSS
// on a mismatch (so a client never completes a wrong blob); reads that start
// elsewhere (a resumed download) are passed on, and the client checks the
// blob's digest itself as REAPI requires.
#pragma once

#include "store/content_store.h"

namespace cifs {

class VerifyingContentStore final : public ContentStore {
 public:
  explicit VerifyingContentStore(ContentStore* base) : base_(base) {}

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override {
    return base_->FindMissing(digests);
  }
  bool Contains(const Digest& digest) override { return base_->Contains(digest); }
  Result<std::string> Get(const Digest& digest) override;
  Status Put(const Digest& digest, std::string_view data) override { return base_->Put(digest, data); }
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override { return base_->OpenWrite(digest); }
  Status Pin(const Digest& digest) override { return base_->Pin(digest); }
  Status Unpin(const Digest& digest) override { return base_->Unpin(digest); }
  ContentStoreStats Stats() override { return base_->Stats(); }

 private:
  ContentStore* base_;
};

}  // namespace cifs
