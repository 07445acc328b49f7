#include "fsd/mount.h"
#include "farmclient/routing.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/clock.h"
#include "common/rel_path.h"
#include "fsd/fuse_bridge.h"

namespace cifs {
namespace {

constexpr auto kAttachTimeout = std::chrono::seconds(10);
// Retries of an Attach the channel refused at once: longer than the channel's
// longest pause between reconnects (1 s, fsd/main.cc), so a farm that just
// came back is found, and short enough that a farm that is down fails fast.
constexpr auto kAttachRetryFor = std::chrono::milliseconds(1500);
constexpr auto kAttachRetryPause = std::chrono::milliseconds(200);
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);
// Workers kept waiting for requests. Fewer made libfuse end and start
// threads all through a burst of lookups (git status stats the tree from
// twenty threads): a cold-kernel status over a known tree took 0.70 s with
// two, 0.38 s with eight, no less with sixteen (31,887 files, 2 cores).
constexpr unsigned kFuseIdleThreads = 8;
constexpr unsigned kFuseMaxThreads = 16;

}  // namespace

Mount::Mount(Passkey, MountOptions options, std::shared_ptr<grpc::Channel> channel, ContentStore* local, Logger* log)
    : options_(std::move(options)),
      log_(log),
      local_(local),
      farm_(std::move(channel), options_.workspace, options_.timeout),
      fetcher_(local, &farm_),
      uid_(::getuid()),
      gid_(::getgid()) {}

Result<std::unique_ptr<Mount>> Mount::Start(MountOptions options, std::shared_ptr<grpc::Channel> channel,
                                            ContentStore* local, Logger* log) {
  auto m = std::make_unique<Mount>(Passkey(), std::move(options), std::move(channel), local, log);
  // Attach fails fast (no waiting for the farm): a mount that cannot reach
  // its farm should say so, not hang.
  v1::AttachRequest req;
  req.set_workspace(m->options_.workspace);
  v1::AttachResponse resp;
  grpc::Status s;
  // A first TLS handshake can fail once under load ("handshaker shutdown")
  // although the farm is up, and a channel that saw the farm go away waits
  // before it tries again: quick retries tell both from a farm that really
  // does not answer, which still fails within kAttachRetryFor.
  const auto give_up = std::chrono::steady_clock::now() + kAttachRetryFor;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(kAttachRetryPause);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kAttachTimeout);
    RouteToWorkspace(&ctx, m->options_.workspace);
    s = m->farm_.stub()->Attach(&ctx, req, &resp);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || std::chrono::steady_clock::now() >= give_up) break;
  }
  if (!s.ok()) {
    switch (s.error_code()) {
      case grpc::StatusCode::NOT_FOUND:
        return Status::NotFound(s.error_message());
      case grpc::StatusCode::PERMISSION_DENIED:
        return Status::PermissionDenied(s.error_message());
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return Status::Unavailable("the farm does not answer (" + s.error_message() + ")");
      default:
        return cifs::Status(static_cast<cifs::Status::Code>(s.error_code()), s.error_message());
    }
  }
  m->table_ = std::make_unique<InodeTable>(resp.root());
  m->primer_ = std::make_unique<KernelPrimer>(KernelPrimer::Options{.mountpoint = m->options_.mountpoint},
                                              m->table_.get());
  CIFS_RETURN_IF_ERROR(m->MountKernel());
  m->mounted_ms_ = NowMs();
  m->notifier_.Start(m->se_);
  Mount* raw = m.get();
  raw->fetcher_.OnFetched([raw](const ContentWant& w, std::string_view data) { raw->OfferToKernel(w, data); });
  m->follower_ = std::thread([raw, epoch = resp.epoch(), seq = resp.seq()] { raw->FollowChanges(epoch, seq); });
  // The whole tree's listing starts now, not at the first command: an
  // editor, a git status or a walk right after finds it under way or done.
  raw->ListAhead("");
  log->Info("mounted", {{"workspace", m->options_.workspace}, {"mountpoint", m->options_.mountpoint}});
  return m;
}

cifs::Status Mount::MountKernel() {
  std::string opts = "fsname=cifs:" + options_.workspace + ",subtype=cifs,default_permissions";
  const char* argv[] = {"fsd", "-o", opts.c_str()};
  struct fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  se_ = fuse_session_new(&args, &MountOperations(), sizeof(fuse_lowlevel_ops), this);
  if (se_ == nullptr) return Status::Internal("cannot create the FUSE session");
  if (fuse_session_mount(se_, options_.mountpoint.c_str()) != 0) {
    fuse_session_destroy(se_);
    se_ = nullptr;
    return Status::FailedPrecondition("cannot mount on " + options_.mountpoint +
                                      " (is /dev/fuse there and fusermount3 installed?)");
  }
  loop_ = std::thread([this] {
    struct fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, kFuseMaxThreads);
    fuse_loop_cfg_set_idle_threads(config, kFuseIdleThreads);
    fuse_session_loop_mt(se_, config);
    fuse_loop_cfg_destroy(config);
  });
  return Status::Ok();
}

Mount::~Mount() {
  {
    std::lock_guard lock(jobs_mu_);
    for (auto& [thread, job] : jobs_) job->Cancel();
  }
  for (auto& [thread, job] : jobs_) thread.join();
  if (primer_) primer_->Stop();
  {
    std::lock_guard lock(follower_mu_);
    stopping_ = true;
    if (follower_ctx_ != nullptr) follower_ctx_->TryCancel();
  }
  follower_cv_.notify_all();
  if (follower_.joinable()) follower_.join();
  list_ahead_.Stop();
  notifier_.Stop();
  if (se_ != nullptr) {
    fuse_session_exit(se_);
    // Detaches the mount: the kernel ends the session and the workers'
    // reads return, so the loop ends even while files are open.
    fuse_session_unmount(se_);
    if (loop_.joinable()) loop_.join();
    fuse_session_destroy(se_);
  }
  auto fills = notifier_.fill_counts();
  log_->Info("unmounted", {{"workspace", options_.workspace},
                           {"mountpoint", options_.mountpoint},
                           {"cache_fills", fills.sent},
                           {"cache_fills_stale", fills.stale},
                           {"cache_fills_dropped", fills.dropped}});
}

void Mount::FollowChanges(std::string epoch, uint64_t seq) {
  auto backoff = kMinBackoff;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    RouteToWorkspace(&ctx, options_.workspace);
    {
      std::lock_guard lock(follower_mu_);
      if (stopping_) return;
      follower_ctx_ = &ctx;
    }
    v1::WatchRequest req;
    req.set_workspace(options_.workspace);
    req.set_epoch(epoch);
    req.set_after(seq);
    auto reader = farm_.stub()->Watch(&ctx, req);
    v1::ChangeBatch batch;
    while (reader->Read(&batch)) {
      if (!farm_.connected()) log_->Info("farm_reconnected", {{"workspace", options_.workspace}});
      farm_.set_connected(true);
      backoff = kMinBackoff;
      if (batch.reset()) {
        notifier_.Push(table_->InvalidateAll());
        ForgetListedAhead();
      } else {
        std::vector<Invalidation> invals;
        farm_.ApplyBatch(batch, [&](const v1::Change& change) {
          for (auto& i : table_->ApplyChange(change)) invals.push_back(std::move(i));
        });
        notifier_.Push(std::move(invals));
      }
      epoch = batch.epoch();
      seq = batch.seq();
    }
    grpc::Status s = reader->Finish();
    {
      std::unique_lock lock(follower_mu_);
      follower_ctx_ = nullptr;
      if (stopping_) return;
      if (farm_.connected()) {
        log_->Warn("farm_disconnected", {{"workspace", options_.workspace}, {"error", s.error_message()}});
      }
      farm_.set_connected(false);
      follower_cv_.wait_for(lock, backoff, [&] { return stopping_; });
      if (stopping_) return;
    }
    backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
  }
}

v1::MountStatus Mount::Report() {
  v1::MountStatus s;
  s.set_workspace(options_.workspace);
  s.set_mountpoint(options_.mountpoint);
  s.set_farm_connected(farm_.connected());
  s.set_fetched_bytes(fetcher_.counters().fetched_bytes);
  s.set_fetched_blobs(fetcher_.counters().fetched_blobs);
  s.set_local_hits(fetcher_.counters().local_hits);
  s.set_fetch_calls(fetcher_.counters().fetch_calls);
  s.set_inodes(static_cast<int64_t>(table_->size()));
  s.set_lookups(lookups_.load(std::memory_order_relaxed));
  s.set_primed_dirs(primer_->primed_dirs());
  s.set_mounted_ms(mounted_ms_);
  std::lock_guard lock(jobs_mu_);
  if (background_) *s.mutable_prefetch() = background_->Snapshot();
  return s;
}

namespace {

// The deepest directory holding both.
std::string CommonDir(const std::string& a, const std::string& b) {
  std::string common = a;
  while (!RelPathWithin(b, common)) common = ParentRelPath(common);
  return common;
}

}  // namespace

void Mount::OfferToKernel(const ContentWant& want, std::string_view data) {
  fuse_ino_t ino = table_->FindPath(want.path);
  // Only for an inode the kernel holds (a readdirplus or lookup handed it
  // over): the kernel keeps no pages for one it does not know.
  if (ino == 0 || data.empty() || !table_->MayFill(ino, want.hash)) return;
  Fill(ino, want.hash, std::string(data));
}

void Mount::Fill(fuse_ino_t ino, const std::string& hash, std::string data) {
  notifier_.Fill({ino, std::move(data), [this, ino, hash] { return table_->ClaimFill(ino, hash); }});
}

void Mount::NoteHeldRead(fuse_ino_t dir) {
  constexpr uint8_t kReadsBeforeOffer = 2;
  {
    std::lock_guard lock(held_reads_mu_);
    if (held_reads_.size() >= (1u << 20)) held_reads_.clear();  // forgetting costs an offer, no more
    uint8_t& n = held_reads_[dir];
    if (n >= kReadsBeforeOffer || ++n < kReadsBeforeOffer) return;
  }
  size_t files = 0;
  int64_t bytes = 0;
  for (const auto& c : table_->Children(dir)) {
    if (files >= ContentFetcher::kMaxBatchFiles || bytes >= ContentFetcher::kBatchBytes) break;
    if (c.attr.type() != v1::Attr::FILE || c.attr.hash().empty() || c.attr.size() == 0 ||
        c.attr.size() > ContentFetcher::kSmallFileBytes || !table_->MayFill(c.ino, c.attr.hash())) {
      continue;
    }
    auto data = local_->Get(Digest{c.attr.hash(), c.attr.size()});
    if (!data.ok()) continue;  // not held: a read fetches it with its neighbours
    ++files;
    bytes += c.attr.size();
    Fill(c.ino, c.attr.hash(), std::move(*data));
  }
}

void Mount::NoteColdRead(const std::string& dir) {
  if (!options_.guess_prefetch) return;
  PrefetchSpec guess;
  {
    std::lock_guard lock(guess_mu_);
    for (const auto& g : guessed_) {
      if (RelPathWithin(dir, g.path) && !MatchesSkip(g.skip, dir)) return;
    }
    if (RelPathWithin(dir, ".git")) {
      // Git reads a few of its own files in several directories of .git (a
      // status reads HEAD, a ref, the index, an object or two): taken for a
      // walk, that would fetch the whole object store. Reads in many more
      // of its directories are a walk, or a git log: then .git is fetched
      // whole.
      if (std::find(git_cold_dirs_.begin(), git_cold_dirs_.end(), dir) == git_cold_dirs_.end()) {
        git_cold_dirs_.push_back(dir);
      }
      if (git_cold_dirs_.size() < kGuessAfterGitDirs) return;
      git_cold_dirs_.clear();
      guess.path = ".git";
    } else {
      if (std::find(cold_dirs_.begin(), cold_dirs_.end(), dir) == cold_dirs_.end()) cold_dirs_.push_back(dir);
      if (cold_dirs_.size() < kGuessAfterDirs) return;
      // With the last guess too: a walk that has moved on from it to a
      // sibling is walking their parent.
      guess.path = guessed_.empty() ? cold_dirs_[0] : guessed_.back().path;
      for (const auto& d : cold_dirs_) guess.path = CommonDir(guess.path, d);
      cold_dirs_.clear();
      // Reads outside .git say nothing of .git: a guess of the whole
      // workspace leaves it out (its object store was a quarter of what a
      // cold read of every file fetched) unless reads there guessed it.
      bool git_guessed = std::any_of(guessed_.begin(), guessed_.end(), [](const PrefetchSpec& g) {
        return RelPathWithin(".git", g.path) && !MatchesSkip(g.skip, ".git");
      });
      if (RelPathWithin(".git", guess.path) && !git_guessed) guess.skip.push_back(".git");
    }
    std::erase_if(guessed_, [&](const PrefetchSpec& g) { return RelPathWithin(g.path, guess.path); });
    guess.max_bytes = options_.guess_limit_bytes;
    guessed_.push_back(guess);
  }
  std::string path = guess.path;
  auto started = StartPrefetch(std::move(guess), /*background=*/true);
  log_->Info("guessed prefetch", {{"mountpoint", options_.mountpoint},
                                  {"path", path},
                                  {"started", started.ok() ? "" : started.status().message()}});
}

void Mount::ListAhead(const std::string& dir) {
  {
    std::lock_guard lock(guess_mu_);
    for (const auto& d : listed_ahead_) {
      if (RelPathWithin(dir, d)) return;
    }
    std::erase_if(listed_ahead_, [&](const std::string& d) { return RelPathWithin(d, dir); });
    listed_ahead_.push_back(dir);
  }
  // Refused while kMaxPrefetches run: the walk then lists as it goes.
  (void)StartPrefetch({.path = dir, .list_only = true}, /*background=*/false);
}

bool Mount::AwaitListAhead(fuse_ino_t dir, const std::string& path) {
  // The farm sends .git last, and git's own lookups there are few: waiting
  // for the stream to get there would cost more than listing them.
  if (RelPathWithin(path, ".git")) return false;
  bool covered = false;
  {
    std::lock_guard lock(jobs_mu_);
    for (auto& [thread, job] : jobs_) {
      if (job->list_only() && !job->ended() && RelPathWithin(path, job->path())) covered = true;
    }
  }
  return covered && table_->AwaitListed(dir, std::chrono::steady_clock::now() + kListAheadWait);
}

void Mount::ForgetListedAhead() {
  std::lock_guard lock(guess_mu_);
  listed_ahead_.clear();
}

fuse_ino_t Mount::ResolvePath(const std::string& path) {
  fuse_ino_t ino = FUSE_ROOT_ID;
  size_t start = 0;
  while (!path.empty() && start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string name = path.substr(start, end - start);
    auto child = table_->Peek(ino, name);
    if (!child && !table_->Listed(ino)) {
      if (List(ino) != 0) return 0;
      child = table_->Peek(ino, name);
    }
    if (!child || child->attr.type() != v1::Attr::DIRECTORY) return 0;
    ino = child->ino;
    start = end + 1;
  }
  return ino;
}

Result<std::shared_ptr<PrefetchJob>> Mount::StartPrefetch(PrefetchSpec spec, bool background) {
  std::lock_guard lock(jobs_mu_);
  std::erase_if(jobs_, [](auto& j) {
    if (!j.second->ended()) return false;
    j.first.join();
    return true;
  });
  if (jobs_.size() >= kMaxPrefetches) {
    return Status::Unavailable(std::to_string(kMaxPrefetches) + " prefetches are running on this mount already");
  }
  auto job = std::make_shared<PrefetchJob>(std::move(spec));
  if (background) background_ = job;
  jobs_.emplace_back(std::thread([this, job] {
    Prefetcher(&farm_, table_.get(), &notifier_, local_, &fetcher_, [this](const std::string& p) {
      return ResolvePath(p);
    }).Run(job.get());
    if (job->list_only()) table_->WakeListingWaiters();  // those it did not reach list for themselves
    log_->Info("prefetched", {{"mountpoint", options_.mountpoint},
                              {"path", job->path()},
                              {"error", job->Snapshot().error()}});
  }), job);
  return job;
}

}  // namespace cifs
