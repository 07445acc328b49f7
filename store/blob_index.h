// The in-memory index of stored blobs: digest key (40 bytes) -> entry.
//
// FindMissingBlobs asks about 100k digests at a time, so a lookup should cost
// one cache miss: open addressing with linear probing keeps each key next to
// its entry in one flat array (std::unordered_map costs three or four misses:
// bucket, previous node, node, key). Load stays at or below one half.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace cifs {

template <typename Entry>
class BlobIndex {
 public:
  static constexpr size_t kKeyBytes = 40;

  BlobIndex() { slots_.resize(kInitialSlots); }

  size_t size() const { return size_; }

  Entry* Find(std::string_view key) {
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (std::memcmp(s.key, key.data(), kKeyBytes) == 0) return &s.entry;
    }
  }

  // Starts loading the key's home slot into the cache: a batch of lookups
  // overlaps its misses when it prefetches a few keys ahead.
  void Prefetch(std::string_view key) const { __builtin_prefetch(&slots_[Hash(key) & (slots_.size() - 1)]); }

  // Inserts or replaces; the pointer is valid until the next Insert or Erase.
  Entry* Insert(std::string_view key, const Entry& entry) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (!s.used) {
        std::memcpy(s.key, key.data(), kKeyBytes);
        s.used = true;
        s.entry = entry;
        ++size_;
        return &s.entry;
      }
      if (std::memcmp(s.key, key.data(), kKeyBytes) == 0) {
        s.entry = entry;
        return &s.entry;
      }
    }
  }

  // Backward-shift deletion: no tombstones, so lookups never slow down.
  bool Erase(std::string_view key) {
    size_t mask = slots_.size() - 1;
    size_t i = Hash(key) & mask;
    while (true) {
      if (!slots_[i].used) return false;
      if (std::memcmp(slots_[i].key, key.data(), kKeyBytes) == 0) break;
      i = (i + 1) & mask;
    }
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; slots_[j].used; j = (j + 1) & mask) {
      size_t home = Hash({slots_[j].key, kKeyBytes}) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_after_hole) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].used = false;
    slots_[hole].entry = Entry();
    --size_;
    return true;
  }

 private:
  static constexpr size_t kInitialSlots = 1024;  // a power of two

  struct Slot {
    char key[kKeyBytes];
    bool used = false;
    Entry entry;
  };

  // Keys start with raw SHA-256 bytes: already uniformly distributed.
  static size_t Hash(std::string_view key) {
    size_t h;
    std::memcpy(&h, key.data(), sizeof h);
    return h;
  }

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.size() * 2);
    size_ = 0;
    for (const Slot& s : old) {
      if (s.used) Insert({s.key, kKeyBytes}, s.entry);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace cifs
