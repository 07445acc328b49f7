// Which shard owns a digest: rendezvous (highest random weight) hashing over
// named shards, as Buildbarn's sharding layer does. Every node computes the
// same ranking from the same names, with no coordination; adding or removing
// a shard moves only the keys that rank it first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cifs {

// Whether a shard answers right now; the ring skips one that does not, so a
// down shard costs a miss rather than a failed call.
class ShardAvailability {
 public:
  virtual ~ShardAvailability() = default;
  virtual bool Available() const = 0;
};

class ShardRing {
 public:
  // `availability[i]` may be null: shard i is always available (this node's
  // own). Names must be unique.
  ShardRing(std::vector<std::string> names, std::vector<const ShardAvailability*> availability);

  size_t size() const { return names_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  bool Available(size_t i) const { return availability_[i] == nullptr || availability_[i]->Available(); }

  // Every shard, best first for `hash` (a digest's hex hash).
  std::vector<size_t> Rank(std::string_view hash) const;
  // The first available shard in Rank(hash); size() when none is.
  size_t Owner(std::string_view hash) const;

 private:
  uint64_t Score(size_t shard, uint64_t key) const;
  // Whether shard a ranks before shard b for `key` (ties: by name).
  bool Outranks(size_t a, size_t b, uint64_t key) const;

  std::vector<std::string> names_;
  std::vector<uint64_t> seeds_;
  std::vector<const ShardAvailability*> availability_;
};

}  // namespace cifs
