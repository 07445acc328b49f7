// Another cluster node's share of the cache (cifs.v1.CacheShard), as a
// ContentStore and ActionCache for the sharding layer.
//
// A node that does not answer is marked unavailable for a few seconds, so
// the ring routes around it instead of every call waiting for a timeout;
// while it is, lookups miss and writes answer Unavailable (the sharding
// layer then writes to the next shard in the ranking).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cifs/v1/cache_shard.grpc.pb.h"
#include "store/action_cache.h"
#include "store/content_store.h"
#include "store/shard_ring.h"

namespace cifs {

struct PeerCredentials {
  std::string ca_pem;    // the farm CA: peers' server certificates chain to it
  std::string cert_pem;  // this node's certificate of role `node`
  std::string key_pem;
};

class RemoteShard final : public ContentStore, public ActionCache, public ShardAvailability {
 public:
  RemoteShard(std::string name, const std::string& address, const PeerCredentials& creds);

  bool Available() const override;

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override;
  bool Contains(const Digest& digest) override;
  Result<std::string> Get(const Digest& digest) override;
  Status Put(const Digest& digest, std::string_view data) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override;
  Status Pin(const Digest& digest) override;
  Status Unpin(const Digest& digest) override;
  ContentStoreStats Stats() override { return {}; }

  using ActionCache::Get;
  Result<std::optional<std::string>> Get(const std::string& tier, const std::string& instance,
                                         const Digest& action) override;
  Result<std::vector<std::optional<std::string>>> GetInTiers(const std::vector<std::string>& tiers,
                                                             const std::string& instance,
                                                             const Digest& action) override;
  Status Put(const std::string& tier, const std::string& instance, const Digest& action,
             const std::string& result) override;
  Result<int64_t> MoveTier(const std::string& from, const std::string& to) override;
  Status DropTier(const std::string& tier) override;

  // A byte range of a blob (what a streamed read fetches per call).
  Result<std::string> ReadRange(const Digest& digest, int64_t offset, int64_t limit);
  // The status of a failed call, marking this shard down when the failure
  // says the node is unreachable rather than that the request was wrong.
  Status Failed(const grpc::Status& s);
  void Deadline(grpc::ClientContext* ctx, std::chrono::seconds within) const;
  // One unary call within the call timeout; its failure as Failed() says.
  Status Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc);
  Status Down() const;
  v1::CacheShard::Stub* stub() { return stub_.get(); }

 private:
  std::string name_;
  std::unique_ptr<v1::CacheShard::Stub> stub_;
  std::atomic<int64_t> down_until_ms_{0};
};

}  // namespace cifs
