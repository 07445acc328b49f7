#include "store/sharding_store.h"

#include <algorithm>
#include <map>

namespace cifs {

namespace {

Status NoShard() { return Status::Unavailable("no cache shard is available"); }

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Tries `write` on the shards in the ranking for `hash` until one does not
// answer Unavailable: the owner first, then whoever ranks next.
template <typename Write>
auto WriteInRankOrder(const ShardRing& ring, std::string_view hash, Write write) -> decltype(write(size_t{0})) {
  decltype(write(size_t{0})) last = NoShard();
  for (size_t i : ring.Rank(hash)) {
    if (!ring.Available(i)) continue;
    last = write(i);
    if (last.ok() || StatusOf(last).code() != Status::Code::kUnavailable) return last;
  }
  return last;
}

}  // namespace

ContentStore* ShardingContentStore::OwnerOf(std::string_view hash) const {
  size_t owner = ring_->Owner(hash);
  return owner < shards_.size() ? shards_[owner] : nullptr;
}

std::vector<size_t> ShardingContentStore::FindMissing(const std::vector<DigestRef>& digests) {
  // One call per shard with its part of the list, in the caller's order.
  std::map<size_t, std::vector<size_t>> by_shard;
  std::vector<size_t> missing;
  for (size_t i = 0; i < digests.size(); ++i) {
    size_t owner = ring_->Owner(digests[i].hash);
    if (owner >= shards_.size()) {
      missing.push_back(i);
    } else {
      by_shard[owner].push_back(i);
    }
  }
  for (const auto& [shard, positions] : by_shard) {
    std::vector<DigestRef> part;
    part.reserve(positions.size());
    for (size_t p : positions) part.push_back(digests[p]);
    for (size_t m : shards_[shard]->FindMissing(part)) missing.push_back(positions[m]);
  }
  std::sort(missing.begin(), missing.end());
  return missing;
}

bool ShardingContentStore::Contains(const Digest& digest) {
  ContentStore* owner = OwnerOf(digest.hash);
  return owner != nullptr && owner->Contains(digest);
}

Result<std::string> ShardingContentStore::Get(const Digest& digest) {
  ContentStore* owner = OwnerOf(digest.hash);
  if (owner == nullptr) return Status::NotFound("blob " + digest.ToString() + " not found (no cache shard is up)");
  return owner->Get(digest);
}

Status ShardingContentStore::Put(const Digest& digest, std::string_view data) {
  return WriteInRankOrder(*ring_, digest.hash, [&](size_t i) { return shards_[i]->Put(digest, data); });
}

Result<std::unique_ptr<BlobReader>> ShardingContentStore::OpenRead(const Digest& digest) {
  ContentStore* owner = OwnerOf(digest.hash);
  if (owner == nullptr) return Status::NotFound("blob " + digest.ToString() + " not found (no cache shard is up)");
  return owner->OpenRead(digest);
}

Result<std::unique_ptr<BlobWriter>> ShardingContentStore::OpenWrite(const Digest& digest) {
  return WriteInRankOrder(*ring_, digest.hash, [&](size_t i) { return shards_[i]->OpenWrite(digest); });
}

Status ShardingContentStore::Pin(const Digest&) {
  return Status::Unimplemented("the sharded cache does not pin blobs: a workspace pins in its own node's store");
}

Status ShardingContentStore::Unpin(const Digest& digest) { return Pin(digest); }

ContentStoreStats ShardingContentStore::Stats() {
  ContentStoreStats sum;
  for (ContentStore* s : shards_) {
    ContentStoreStats one = s->Stats();
    sum.blobs += one.blobs;
    sum.cache_bytes += one.cache_bytes;
    sum.pinned_bytes += one.pinned_bytes;
    sum.cache_limit_bytes += one.cache_limit_bytes;
    sum.evicted_blobs += one.evicted_blobs;
    sum.damaged_blobs += one.damaged_blobs;
    sum.rejected_writes += one.rejected_writes;
  }
  return sum;
}

Result<std::optional<std::string>> ShardingActionCache::Get(const std::string& tier, const std::string& instance,
                                                            const Digest& action) {
  size_t owner = ring_->Owner(action.hash);
  if (owner >= shards_.size()) return std::optional<std::string>();
  return shards_[owner]->Get(tier, instance, action);
}

Result<std::vector<std::optional<std::string>>> ShardingActionCache::GetInTiers(const std::vector<std::string>& tiers,
                                                                               const std::string& instance,
                                                                               const Digest& action) {
  // Every tier's entry of one action lives with the action's owner.
  size_t owner = ring_->Owner(action.hash);
  if (owner >= shards_.size()) return std::vector<std::optional<std::string>>(tiers.size());
  return shards_[owner]->GetInTiers(tiers, instance, action);
}

Status ShardingActionCache::Put(const std::string& tier, const std::string& instance, const Digest& action,
                                const std::string& result) {
  return WriteInRankOrder(*ring_, action.hash,
                          [&](size_t i) { return shards_[i]->Put(tier, instance, action, result); });
}

Result<int64_t> ShardingActionCache::MoveTier(const std::string& from, const std::string& to) {
  int64_t moved = 0;
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (!ring_->Available(i)) continue;
    auto n = shards_[i]->MoveTier(from, to);
    if (n.ok()) {
      moved += *n;
    } else if (n.status().code() != Status::Code::kUnavailable) {
      return n.status();
    }
  }
  return moved;
}

Status ShardingActionCache::DropTier(const std::string& tier) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (!ring_->Available(i)) continue;
    Status s = shards_[i]->DropTier(tier);
    if (!s.ok() && s.code() != Status::Code::kUnavailable) return s;
  }
  return Status::Ok();
}

}  // namespace cifs
