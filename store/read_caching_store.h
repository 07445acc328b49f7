// Reads served from a fast store when it has the blob, and otherwise from
// the slow one, copying what was read into the fast one on the way (as
// Buildbarn's ReadCachingBlobAccess does). The farm puts a node's own disk in
// front of the sharded cache: a blob another node owns crosses the network
// once per node, not once per build.
//
// What exists is decided by the slow store alone (FindMissing, Contains);
// writes go only there. A copy that cannot be made is just not made.
#pragma once

#include "store/content_store.h"

namespace cifs {

class ReadCachingContentStore final : public ContentStore {
 public:
  ReadCachingContentStore(ContentStore* slow, ContentStore* fast) : slow_(slow), fast_(fast) {}

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override {
    return slow_->FindMissing(digests);
  }
  bool Contains(const Digest& digest) override { return slow_->Contains(digest); }
  Result<std::string> Get(const Digest& digest) override;
  Status Put(const Digest& digest, std::string_view data) override { return slow_->Put(digest, data); }
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override { return slow_->OpenWrite(digest); }
  Status Pin(const Digest& digest) override { return slow_->Pin(digest); }
  Status Unpin(const Digest& digest) override { return slow_->Unpin(digest); }
  ContentStoreStats Stats() override { return slow_->Stats(); }

 private:
  ContentStore* slow_;
  ContentStore* fast_;
};

}  // namespace cifs
