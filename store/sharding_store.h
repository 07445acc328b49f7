// The content store and action cache spread over shards (ShardRing): each
// digest is served by its owner, the first available shard in its ranking.
//
// A shard that fails or is marked unavailable costs a miss, never a failed
// build: lookups fall through to "missing", and a write that the owner
// refuses as Unavailable goes to the next shard in the ranking instead.
// Tier moves and drops go to every shard (an action's entries live with the
// shard that owns its digest).
#pragma once

#include <vector>

#include "store/action_cache.h"
#include "store/content_store.h"
#include "store/shard_ring.h"

namespace cifs {

class ShardingContentStore final : public ContentStore {
 public:
  // shards[i] is ring's shard i; neither is owned.
  ShardingContentStore(const ShardRing* ring, std::vector<ContentStore*> shards)
      : ring_(ring), shards_(std::move(shards)) {}

  using ContentStore::FindMissing;
  std::vector<size_t> FindMissing(const std::vector<DigestRef>& digests) override;
  bool Contains(const Digest& digest) override;
  Result<std::string> Get(const Digest& digest) override;
  Status Put(const Digest& digest, std::string_view data) override;
  Result<std::unique_ptr<BlobReader>> OpenRead(const Digest& digest) override;
  Result<std::unique_ptr<BlobWriter>> OpenWrite(const Digest& digest) override;
  // Pins belong to a workspace's own node, not to the shared cache.
  Status Pin(const Digest& digest) override;
  Status Unpin(const Digest& digest) override;
  ContentStoreStats Stats() override;

 private:
  ContentStore* OwnerOf(std::string_view hash) const;

  const ShardRing* ring_;
  std::vector<ContentStore*> shards_;
};

class ShardingActionCache final : public ActionCache {
 public:
  ShardingActionCache(const ShardRing* ring, std::vector<ActionCache*> shards) : ring_(ring), shards_(std::move(shards)) {}

  Result<std::optional<std::string>> Get(const std::string& tier, const std::string& instance,
                                         const Digest& action) override;
  Result<std::vector<std::optional<std::string>>> GetInTiers(const std::vector<std::string>& tiers,
                                                             const std::string& instance,
                                                             const Digest& action) override;
  Status Put(const std::string& tier, const std::string& instance, const Digest& action,
             const std::string& result) override;
  // Every available shard moves its share; a shard that is down keeps its
  // entries in `from`, which makes them misses, not wrong answers.
  Result<int64_t> MoveTier(const std::string& from, const std::string& to) override;
  Status DropTier(const std::string& tier) override;

 private:
  const ShardRing* ring_;
  std::vector<ActionCache*> shards_;
};

}  // namespace cifs
