#include "store/shard_ring.h"

#include <algorithm>
#include <numeric>

namespace cifs {

namespace {

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// splitmix64's finalizer: every input bit moves every output bit, so a
// shard's score for a key is independent of its score for the next key.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A SHA-256 hex hash is uniform already: its first 16 digits are the key.
uint64_t KeyOf(std::string_view hash) {
  uint64_t k = 0;
  for (size_t i = 0; i < 16 && i < hash.size(); ++i) {
    char c = hash[i];
    uint64_t v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 0;
    k = (k << 4) | v;
  }
  return k;
}

}  // namespace

ShardRing::ShardRing(std::vector<std::string> names, std::vector<const ShardAvailability*> availability)
    : names_(std::move(names)), availability_(std::move(availability)) {
  availability_.resize(names_.size(), nullptr);
  for (const auto& n : names_) seeds_.push_back(Fnv1a(n));
}

uint64_t ShardRing::Score(size_t shard, uint64_t key) const { return Mix(key ^ Mix(seeds_[shard])); }

bool ShardRing::Outranks(size_t a, size_t b, uint64_t key) const {
  uint64_t sa = Score(a, key), sb = Score(b, key);
  return sa != sb ? sa > sb : names_[a] < names_[b];
}

std::vector<size_t> ShardRing::Rank(std::string_view hash) const {
  uint64_t key = KeyOf(hash);
  std::vector<size_t> order(names_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return Outranks(a, b, key); });
  return order;
}

size_t ShardRing::Owner(std::string_view hash) const {
  uint64_t key = KeyOf(hash);
  // Rank()'s first available shard, without sorting: this runs per digest.
  size_t best = names_.size();
  for (size_t i = 0; i < names_.size(); ++i) {
    if (Available(i) && (best == names_.size() || Outranks(i, best, key))) best = i;
  }
  return best;
}

}  // namespace cifs
