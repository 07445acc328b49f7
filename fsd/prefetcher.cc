#include "fsd/prefetcher.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "common/byte_size.h"
#include "common/clock.h"
#include "common/rel_path.h"
#include "farmclient/routing.h"

namespace cifs {
namespace {

// A listing's whole stream may take minutes on a cold farm (it hashes what
// it lists), so it is bounded by this rather than by one call's timeout. A
// farm that goes away ends the stream at once, with an error.
constexpr auto kListBudget = std::chrono::minutes(10);

std::string Describe(int err, const FarmFs& farm) {
  if (err == EIO) {
    return "the farm did not answer within " + std::to_string(farm.timeout().count() / 1000) + " s";
  }
  return std::strerror(err);
}

}  // namespace

void PrefetchJob::Found(int64_t files, int64_t bytes) {
  files_total_ += files;
  bytes_total_ += bytes;
}

void PrefetchJob::Listed() { listed_ = true; }

void PrefetchJob::Done(int64_t files, int64_t bytes, int64_t fetched_bytes) {
  files_done_ += files;
  bytes_done_ += bytes;
  bytes_fetched_ += fetched_bytes;
}

void PrefetchJob::Finish(std::string error) {
  std::lock_guard lock(mu_);
  finished_ = true;
  error_ = std::move(error);
  elapsed_ms_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count();
  cv_.notify_all();
}

bool PrefetchJob::WaitFor(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, wait, [this] { return finished_; });
}

v1::PrefetchProgress PrefetchJob::Snapshot() {
  v1::PrefetchProgress p;
  p.set_listed(listed_);
  p.set_files_total(files_total_);
  p.set_files_done(files_done_);
  p.set_bytes_total(bytes_total_);
  p.set_bytes_done(bytes_done_);
  p.set_bytes_fetched(bytes_fetched_);
  std::lock_guard lock(mu_);
  p.set_done(finished_);
  p.set_error(error_);
  p.set_elapsed_ms(finished_ ? elapsed_ms_
                             : std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - started_)
                                   .count());
  return p;
}

bool MatchesSkip(const std::vector<std::string>& skip, const std::string& path) {
  return std::any_of(skip.begin(), skip.end(), [&](const std::string& s) { return RelPathWithin(path, s); });
}

void Prefetcher::Run(PrefetchJob* job) {
  // Contents are fetched while the listing goes on: each listed chunk's
  // missing files join the queue the workers take batches from.
  Pipeline line;
  std::vector<std::thread> workers;
  if (!job->list_only()) {
    for (int i = 0; i < kParallel; ++i) workers.emplace_back([&] { FetchFrom(job, &line); });
  }
  std::string error = ListTree(job, &line);
  {
    std::lock_guard lock(line.mu);
    line.listed = true;
    if (!error.empty()) line.stop = true;
  }
  line.cv.notify_all();
  for (auto& t : workers) t.join();
  if (error.empty()) error = line.error;
  if (error.empty() && job->cancelled()) error = "cancelled";
  job->Finish(std::move(error));
}

void Prefetcher::Queue(PrefetchJob* job, Pipeline* line, std::vector<ContentWant> found) {
  std::vector<DigestRef> refs;
  refs.reserve(found.size());
  int64_t bytes = 0;
  for (const auto& w : found) {
    refs.push_back({w.hash, w.size});
    bytes += w.size;
  }
  job->Found(static_cast<int64_t>(found.size()), bytes);
  std::vector<size_t> missing = local_->FindMissing(refs);
  int64_t missing_bytes = 0;
  {
    std::lock_guard lock(line->mu);
    for (size_t i : missing) {
      missing_bytes += found[i].size;
      line->pending.push_back(std::move(found[i]));
    }
  }
  line->cv.notify_all();
  job->Done(static_cast<int64_t>(found.size() - missing.size()), bytes - missing_bytes, 0);  // held already
}

void Prefetcher::FetchFrom(PrefetchJob* job, Pipeline* line) {
  std::vector<ContentWant> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(line->mu);
      line->cv.wait(lock, [&] { return line->stop || !line->pending.empty() || line->listed || job->cancelled(); });
      if (line->stop || job->cancelled()) return;
      if (line->pending.empty()) return;  // listed, and nothing left
      int64_t bytes = 0;
      while (!line->pending.empty()) {
        const ContentWant& w = line->pending.front();
        if (ContentFetcher::Streamed(w.size)) {
          if (batch.empty()) {  // a large file travels alone, as a stream
            batch.push_back(std::move(line->pending.front()));
            line->pending.pop_front();
          }
          break;
        }
        if (!ContentFetcher::BatchTakes(batch.size(), bytes, w.size)) break;
        bytes += w.size;
        batch.push_back(std::move(line->pending.front()));
        line->pending.pop_front();
      }
    }
    int e = batch.size() == 1 && ContentFetcher::Streamed(batch[0].size) ? fetcher_->Stream(batch[0])
                                                                        : fetcher_->FetchBatch(batch);
    if (e == ESTALE) e = 0;  // changed since it was listed: fetched when read
    if (e != 0) {
      {
        std::lock_guard lock(line->mu);
        if (line->error.empty()) line->error = "fetching " + batch[0].path + ": " + Describe(e, *farm_);
        line->stop = true;
      }
      line->cv.notify_all();
      return;
    }
    int64_t bytes = 0;
    for (const auto& w : batch) bytes += w.size;
    job->Done(static_cast<int64_t>(batch.size()), bytes, bytes);
  }
}

std::string Prefetcher::ListTree(PrefetchJob* job, Pipeline* line) {
  if (resolve_(job->path()) == 0) return job->path() + ": no such directory in the workspace";
  v1::ListTreeRequest req;
  req.set_workspace(farm_->workspace());
  req.set_path(job->path());
  for (const auto& g : job->globs()) req.add_globs(g);
  for (const auto& s : job->skip()) req.add_skip(s);
  req.set_listing_only(job->list_only());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + farm_->timeout() + kListBudget);
  ctx.set_wait_for_ready(true);
  RouteToWorkspace(&ctx, farm_->workspace());
  const uint64_t quiet = farm_->QuietMark();
  auto reader = farm_->stub()->ListTree(&ctx, req);
  // The farm sends something every second while it walks: silence for the
  // mount's timeout means it went away (or never answered).
  std::atomic<int64_t> last_heard = NowMs();
  std::atomic<bool> listing = true, silent = false;
  std::thread watchdog([&] {
    while (listing) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (job->cancelled()) {  // an unmount, a Ctrl-C: the stream ends now
        ctx.TryCancel();
        return;
      }
      if (listing && NowMs() - last_heard > farm_->timeout().count()) {
        silent = true;
        ctx.TryCancel();
        return;
      }
    }
  });
  struct Join {
    std::atomic<bool>* flag;
    std::thread* t;
    ~Join() {
      *flag = false;
      t->join();
    }
  } join{&listing, &watchdog};
  std::unordered_set<std::string> seen;  // one fetch per content, however many files hold it
  int64_t bytes = 0, entries = 0;
  v1::ListTreeChunk chunk;
  int err = 0;
  std::string over;
  while (reader->Read(&chunk)) {
    last_heard = NowMs();
    if (job->cancelled() || line->stopped()) {
      ctx.TryCancel();
      break;
    }
    if (chunk.error() != 0) {
      err = chunk.error();
      break;
    }
    std::vector<ContentWant> found;
    for (const auto& dir : chunk.dirs()) {
      // Fills directories not listed yet that the mount has not changed
      // since (see FarmFs::QuietMark); the others are the Watch stream's.
      fuse_ino_t ino = table_->FindPath(dir.path());
      entries += dir.entries_size();
      if (ino != 0 && !table_->Listed(ino)) {
        std::vector<Invalidation> stale;
        farm_->IfUntouchedSince(quiet, dir.path(),
                                [&] { stale = table_->SetListing(ino, dir.dir(), dir.entries()); });
        notifier_->Push(std::move(stale));
      } else if (ino != 0) {
        table_->LearnHashes(ino, dir.entries());  // so that reads find what is fetched here
      }
      if (job->list_only()) continue;
      for (const auto& e : dir.entries()) {
        const v1::Attr& a = e.attr();
        if (a.type() != v1::Attr::FILE || a.hash().empty() || a.size() == 0) continue;
        std::string path = JoinRelPath(dir.path(), e.name());
        if (!MatchesAnyGlob(job->globs(), path) || MatchesSkip(job->skip(), path) || !seen.insert(a.hash()).second) {
          continue;
        }
        bytes += a.size();
        found.push_back({std::move(path), a.hash(), a.size()});
      }
    }
    if (!found.empty()) Queue(job, line, std::move(found));
    if (job->max_bytes() > 0 && bytes > job->max_bytes()) {
      over = "it holds more than " + FormatByteSize(job->max_bytes()) + " (a quarter of the local store)";
    } else if (job->list_only() && entries > kMaxListAheadEntries) {
      over = "more than " + std::to_string(kMaxListAheadEntries) + " entries: the rest is listed when walked";
    }
    if (!over.empty()) {
      ctx.TryCancel();
      break;
    }
  }
  if (err != 0) {
    ctx.TryCancel();
    (void)reader->Finish();  // cancelled by us: its status says nothing new
    return job->path() + ": " + std::strerror(err);
  }
  grpc::Status s = reader->Finish();
  if (!over.empty()) return over;
  if (job->cancelled() || line->stopped()) return "";
  if (silent) return "listing: " + Describe(EIO, *farm_);
  if (!s.ok()) return "listing " + (job->path().empty() ? "the workspace" : job->path()) + ": " +
                      Describe(farm_->FromGrpc(s), *farm_) + " (" + s.error_message() + ")";
  job->Listed();
  return "";
}

}  // namespace cifs
