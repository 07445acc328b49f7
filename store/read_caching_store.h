// Reads served from a fast store when it has the blob, and otherwise from
// the slow one, copying what was read into the fast one on the way (as
// Buildbarn's ReadCachingBlobAccess does). The farm puts a node's own disk in
// front of the sharded cache: a blob another node owns crosses the network
// once per node, not once per build.
//
// What exists is decided by the slow store alone (FindMissing, Contains);
// writes go only there. A copy that cannot be made is just not made.
#pragma once

#include "store/forwarding_store.h"

namespace cifs {

class ReadCachingContentStore final : public ForwardingContentStore {
 public:
  ReadCachingContentStore(ContentStore* slow, ContentStore* fast) : ForwardingContentStore(slow), fast_(fast) {}

  Result<std::string> Get(const Digest& digest) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;

 private:
  ContentStore* fast_;
};

}  // namespace cifs
