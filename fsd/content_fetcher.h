// Brings file contents from the farm into the local content store, by hash:
// a file already held (from this workspace, another one, another branch) is
// never fetched again. Small files travel in batches together with the
// not-yet-fetched small files beside them, large ones as a stream. A content
// already on its way (a read and a prefetch wanting it at once) is waited
// for, not fetched twice.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fsd/farm_fs.h"
#include "store/content_store.h"

namespace cifs {

struct ContentWant {
  std::string path;  // where the farm has it
  std::string hash;
  int64_t size = 0;
};

struct FetchCounters {
  std::atomic<int64_t> fetched_bytes{0};
  std::atomic<int64_t> fetched_blobs{0};
  std::atomic<int64_t> local_hits{0};
  std::atomic<int64_t> fetch_calls{0};
};

class ContentFetcher {
 public:
  ContentFetcher(ContentStore* local, FarmFs* farm) : local_(local), farm_(farm) {}

  // Makes `want` local; when it has to be fetched, what `neighbours`
  // returns (small files not held yet: the caller chooses) rides along in
  // the same call, as far as the batch takes. Returns 0, ESTALE (the farm's
  // file no longer has that hash) or EIO.
  int Ensure(const ContentWant& want, const std::function<std::vector<ContentWant>()>& neighbours);

  // One call for many small files (at most kBatchBytes and kMaxBatchFiles
  // together); what the farm no longer has is left out. 0 or EIO.
  int FetchBatch(const std::vector<ContentWant>& batch);
  // One file of any size as a stream, verified before it is kept. 0,
  // ESTALE or EIO.
  int Stream(const ContentWant& want);

  const FetchCounters& counters() const { return counters_; }

  // Called with each small file a batch brought, but the one a read is
  // waiting for; set before the first fetch.
  using FetchedHook = std::function<void(const ContentWant& want, std::string_view data)>;
  void OnFetched(FetchedHook hook) { on_fetched_ = std::move(hook); }

  static constexpr int64_t kSmallFileBytes = 256 * 1024;
  static constexpr size_t kMaxBatchFiles = 256;
  // Stays under the farm's Fetch budget (3.5 MiB) with room for framing.
  static constexpr int64_t kBatchBytes = 3 << 20;
  // A file this large travels alone, as a stream (Stream), never in a batch.
  static bool Streamed(int64_t size) { return size > kBatchBytes; }
  // Whether a batch of `files` files and `bytes` bytes takes one of `size`.
  static bool BatchTakes(size_t files, int64_t bytes, int64_t size) {
    return files < kMaxBatchFiles && bytes + size <= kBatchBytes;
  }

 private:
  struct InFlight {
    bool done = false;
    std::condition_variable cv;
  };
  // Marks the contents of `wants` as on their way, except those that are
  // already; returns the ones this caller now fetches.
  std::vector<ContentWant> Claim(const std::vector<ContentWant>& wants);
  void Release(const std::vector<ContentWant>& claimed);
  // Waits for `hash` if it is on its way; true if it was.
  bool AwaitInFlight(const std::string& hash);
  // `reading`: the hash a read waits for (not handed to OnFetched's hook).
  int FetchClaimed(const std::vector<ContentWant>& batch, const std::string& reading);
  int FetchBatch(const std::vector<ContentWant>& batch, const std::string& reading);
  int StreamClaimed(const ContentWant& want);

  std::mutex inflight_mu_;
  std::unordered_map<std::string, std::shared_ptr<InFlight>> inflight_;
  ContentStore* local_;
  FarmFs* farm_;
  FetchCounters counters_;
  FetchedHook on_fetched_;
};

}  // namespace cifs
