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

#include "store/forwarding_store.h"

namespace cifs {

class VerifyingContentStore final : public ForwardingContentStore {
 public:
  explicit VerifyingContentStore(ContentStore* base) : ForwardingContentStore(base) {}

  Result<std::string> Get(const Digest& digest) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
};

}  // namespace cifs
