#include "farmserver/fs/change_journal.h"

#include <openssl/rand.h>

#include <thread>
#include <unordered_set>

namespace cifs {
namespace {

std::string RandomEpoch() {
  unsigned char bytes[8];
  RAND_bytes(bytes, sizeof bytes);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

constexpr std::chrono::milliseconds kGatherBurst{15};

}  // namespace

ChangeJournal::ChangeJournal(size_t capacity) : capacity_(capacity), epoch_(RandomEpoch()) {}

uint64_t ChangeJournal::seq() {
  std::lock_guard lock(mu_);
  return seq_;
}

void ChangeJournal::Add(std::string path) {
  {
    std::lock_guard lock(mu_);
    entries_.emplace_back(++seq_, std::move(path));
    if (entries_.size() > capacity_) entries_.pop_front();
  }
  cv_.notify_all();
}

void ChangeJournal::AddReset() {
  {
    std::lock_guard lock(mu_);
    last_reset_ = ++seq_;
  }
  cv_.notify_all();
}

ChangeJournal::Batch ChangeJournal::Next(uint64_t after, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, wait, [&] { return seq_ > after; })) return Batch{false, after, {}};
  lock.unlock();
  std::this_thread::sleep_for(kGatherBurst);
  lock.lock();
  Batch batch;
  batch.seq = seq_;
  uint64_t oldest = entries_.empty() ? seq_ + 1 : entries_.front().first;
  if (after < last_reset_ || (after + 1 < oldest && oldest <= seq_)) {
    batch.reset = true;
    return batch;
  }
  std::unordered_set<std::string> seen;
  for (auto it = entries_.rbegin(); it != entries_.rend() && it->first > after; ++it) {
    if (seen.insert(it->second).second) batch.paths.push_back(it->second);
  }
  return batch;
}

}  // namespace cifs
