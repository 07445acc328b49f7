// Makes a subtree of a mounted workspace local in few large calls: one
// ListTree stream fills the inode table (every directory listed, so a walk
// afterwards asks the farm nothing), then the contents not held yet come in
// batches over several calls at once. Memory stays bounded: at most
// kParallel batches of ContentFetcher::kBatchBytes are in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "cifs/v1/fs.pb.h"
#include "fsd/content_fetcher.h"
#include "fsd/farm_fs.h"
#include "fsd/inode_table.h"
#include "fsd/notifier.h"
#include "store/content_store.h"

namespace cifs {

// What a prefetch covers.
struct PrefetchSpec {
  std::string path{};                // a workspace directory ("" for the root)
  std::vector<std::string> globs{};  // the files to fetch (none: every file)
  std::vector<std::string> skip{};   // subtrees listed but not fetched
  int64_t max_bytes = 0;           // a subtree bigger is listed, not fetched (0: no bound)
  bool list_only = false;          // fills the table only (no hashes, no contents): a walk's listing ahead
};

// Whether `path` lies in one of the subtrees `skip` names.
bool MatchesSkip(const std::vector<std::string>& skip, const std::string& path);

// One prefetch's progress, shared by the thread doing it and whoever
// reports it (a `cifs prefetch` waiting, or `cifs status`).
class PrefetchJob {
 public:
  explicit PrefetchJob(PrefetchSpec spec) : spec_(std::move(spec)) {}

  const std::string& path() const { return spec_.path; }
  const std::vector<std::string>& globs() const { return spec_.globs; }
  const std::vector<std::string>& skip() const { return spec_.skip; }
  int64_t max_bytes() const { return spec_.max_bytes; }
  bool list_only() const { return spec_.list_only; }
  bool ended() { return WaitFor(std::chrono::milliseconds(0)); }

  void Cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // More files to fetch were found; the listing is complete.
  void Found(int64_t files, int64_t bytes);
  void Listed();
  void Done(int64_t files, int64_t bytes, int64_t fetched_bytes);
  // Ends the job; `error` empty when it completed.
  void Finish(std::string error);
  // Waits until the job ends or `wait` passes; true once it has ended.
  bool WaitFor(std::chrono::milliseconds wait);
  v1::PrefetchProgress Snapshot();

 private:
  const PrefetchSpec spec_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> cancelled_{false};
  std::atomic<int64_t> files_total_{0}, bytes_total_{0}, files_done_{0}, bytes_done_{0}, bytes_fetched_{0};
  std::atomic<bool> listed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::string error_;
  int64_t elapsed_ms_ = 0;
};

class Prefetcher {
 public:
  // `resolve` finds the node of a workspace path, listing what leads to it
  // (0 when there is none).
  Prefetcher(FarmFs* farm, InodeTable* table, Notifier* notifier, ContentStore* local, ContentFetcher* fetcher,
             std::function<fuse_ino_t(const std::string&)> resolve)
      : farm_(farm),
        table_(table),
        notifier_(notifier),
        local_(local),
        fetcher_(fetcher),
        resolve_(std::move(resolve)) {}

  // Runs `job` to its end (job->Finish is called).
  void Run(PrefetchJob* job);

  static constexpr int kParallel = 4;
  // A listing ahead stops there: the table stays bounded in a huge tree.
  static constexpr int64_t kMaxListAheadEntries = 250000;

 private:
  // Listed contents on their way to the workers.
  struct Pipeline {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<ContentWant> pending;
    bool listed = false;  // nothing more will come
    bool stop = false;    // a failure: everyone stops
    std::string error;
    bool stopped() {
      std::lock_guard lock(mu);
      return stop;
    }
  };
  // Lists the job's subtree into the table, queueing each matching file's
  // contents once. Returns "" or why it stopped.
  std::string ListTree(PrefetchJob* job, Pipeline* line);
  // Counts what is held already and queues the rest.
  void Queue(PrefetchJob* job, Pipeline* line, std::vector<ContentWant> found);
  // A worker: fetches batches from the queue until it is done.
  void FetchFrom(PrefetchJob* job, Pipeline* line);

  FarmFs* farm_;
  InodeTable* table_;
  Notifier* notifier_;
  ContentStore* local_;
  ContentFetcher* fetcher_;
  std::function<fuse_ino_t(const std::string&)> resolve_;
};

}  // namespace cifs
