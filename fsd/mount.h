// One mounted workspace: a FUSE session (libfuse low-level API) whose
// requests are answered from the inode table and the local content store,
// going to the farm only for what is not known yet and for every change.
//
// Threads: libfuse's request workers; the notifier (kernel invalidations);
// the change follower (the farm's Watch stream, reconnecting by itself).
#pragma once

#include <fuse_lowlevel.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "cifs/v1/fs.pb.h"
#include "common/log.h"
#include "common/status.h"
#include "fsd/content_fetcher.h"
#include "fsd/farm_fs.h"
#include "fsd/inode_table.h"
#include "fsd/kernel_primer.h"
#include "fsd/notifier.h"
#include "fsd/prefetcher.h"
#include "common/task_pool.h"
#include "store/content_store.h"

namespace cifs {

struct MountOptions {
  std::string workspace;
  std::string mountpoint;
  std::chrono::milliseconds timeout{15000};  // per farm call; then EIO
  double cache_timeout_s = 3600;              // kernel entry/attr caching
  bool guess_prefetch = true;                 // see Mount::NoteColdRead
  int64_t guess_limit_bytes = 0;              // a guessed subtree bigger than this is not fetched
};

class Mount {
 public:
  static Result<std::unique_ptr<Mount>> Start(MountOptions options, std::shared_ptr<grpc::Channel> channel,
                                              ContentStore* local, Logger* log);
  struct Passkey {
    explicit Passkey() = default;
  };
  Mount(Passkey, MountOptions options, std::shared_ptr<grpc::Channel> channel, ContentStore* local, Logger* log);
  ~Mount();  // unmounts
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  v1::MountStatus Report();

  // Starts making `path`'s files (those matching `globs`) local on a thread
  // of its own; the job reports progress and can be cancelled. The latest
  // background one shows in Report. Unavailable while kMaxPrefetches run.
  // A subtree bigger than `max_bytes` (when set) is listed, not fetched.
  // A list_only job fills the table and fetches nothing.
  Result<std::shared_ptr<PrefetchJob>> StartPrefetch(PrefetchSpec spec, bool background);
  static constexpr size_t kMaxPrefetches = 4;
  const MountOptions& options() const { return options_; }

  // FUSE requests (mount_ops.cc).
  void Init(struct fuse_conn_info* conn);
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  void GetAttr(fuse_req_t req, fuse_ino_t ino);
  void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set);
  void ReadLink(fuse_req_t req, fuse_ino_t ino);
  void MkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void MkDir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
              unsigned int flags);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi);
  void Open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi);
  void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi);
  void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, struct fuse_file_info* fi);
  void Fsync(fuse_req_t req, fuse_ino_t ino);
  void OpenDir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi);
  void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi, bool plus);
  void StatFs(fuse_req_t req);

 private:
  cifs::Status MountKernel();
  void FollowChanges(std::string epoch, uint64_t seq);

  // Fetches `dir`'s listing from the farm into the table (one call at a
  // time per directory; concurrent lookups wait for it), with the hashes of
  // files up to `hash_limit` bytes.
  int List(fuse_ino_t dir, int64_t hash_limit = 0);
  // Makes `*cur`'s contents local (hashing and fetching as needed).
  int EnsureLocal(fuse_ino_t ino, InodeTable::NodeView* cur);
  int ReadFromFarm(const InodeTable::NodeView& v, size_t size, off_t off, std::string* buf);
  // Re-reads `ino`'s attributes (with hash) from the farm.
  int Refresh(fuse_ino_t ino, InodeTable::NodeView* view);
  int PathIn(fuse_ino_t parent, const char* name, std::string* path);
  // The node of workspace path `path`, listing the directories on the way
  // as needed; 0 when there is none.
  fuse_ino_t ResolvePath(const std::string& path);
  // A read of a file under `dir` had to fetch it. Once such reads came from
  // kGuessAfterDirs directories, the subtree holding them all is prefetched
  // in the background (a walk reading everything, an indexer, a grep -r:
  // they all go on to read the rest), once per subtree.
  void NoteColdRead(const std::string& dir);
  // A read served from the local store in `dir`: on the second, the
  // directory's other small files held here and known to the kernel go to
  // its page cache, so reading them next asks fsd nothing.
  void NoteHeldRead(fuse_ino_t dir);
  std::mutex held_reads_mu_;
  std::unordered_map<fuse_ino_t, uint8_t> held_reads_;  // reads so far, per directory
  // Small files a fetch brought beside the one being read are handed to the
  // kernel's page cache, so reading them next costs no request.
  void OfferToKernel(const ContentWant& want, std::string_view data);
  // Queues `data` for the kernel's page cache of `ino`, claimed in the table
  // (ClaimFill) when its turn comes, behind every invalidation before it.
  void Fill(fuse_ino_t ino, const std::string& hash, std::string data);
  static constexpr size_t kGuessAfterDirs = 3;
  // Directories of .git with cold reads before it is fetched whole (see
  // NoteColdRead); a git status reads in about five.
  static constexpr size_t kGuessAfterGitDirs = 16;
  std::mutex guess_mu_;
  std::vector<std::string> cold_dirs_;      // distinct, since the last guess
  std::vector<std::string> git_cold_dirs_;  // the same, in .git
  std::vector<PrefetchSpec> guessed_;       // prefetched by guess (path, skip)
  // The first listing of a directory lists its whole subtree ahead, in one
  // stream (a walk, git status: they go on to every directory below), once
  // per subtree until a reset drops the listings. The root's starts with
  // the mount.
  void ListAhead(const std::string& dir);
  void ForgetListedAhead();
  std::vector<std::string> listed_ahead_;
  // A directory (workspace path `path`) not listed yet that a running
  // listing ahead covers: waits for the stream to reach it rather than
  // asking the farm beside it (git status's twenty threads stat the whole
  // tree at once, and their own listings slowed the stream that would have
  // answered them all). True once it is listed; false after
  // kListAheadWait, or when the stream ended without it.
  bool AwaitListAhead(fuse_ino_t dir, const std::string& path);
  static constexpr auto kListAheadWait = std::chrono::milliseconds(50);

  // `name` in `dir` is about to be removed or replaced. An open file must
  // stay readable as on a local disk, but fsd cannot tell whether it is
  // open (see Init). Reads of a removed file are served from the local
  // store by hash; a file the kernel still holds whose bytes are not all
  // local (never read, or written through this mount) is asked to be kept
  // open by the farm instead, and read from there (KeptFiles).
  bool ShouldKeep(fuse_ino_t dir, const char* name);
  // What the kernel caches for an entry: the node, its attributes, timeouts.
  fuse_entry_param EntryParam(fuse_ino_t ino, const v1::Attr& attr) const;
  void ReplyEntry(fuse_req_t req, const InodeTable::NodeView& v);
  void FillStat(fuse_ino_t ino, const v1::Attr& a, struct stat* st) const;
  // Answers an entry-making call (mknod, mkdir, symlink) and records it;
  // returns the new node, 0 on error.
  fuse_ino_t Made(fuse_req_t req, fuse_ino_t parent, const char* name, int err, const v1::Attr& attr);

  MountOptions options_;
  Logger* log_;
  ContentStore* local_;
  FarmFs farm_;
  ContentFetcher fetcher_;
  std::unique_ptr<InodeTable> table_;
  Notifier notifier_;
  uid_t uid_;
  gid_t gid_;
  int64_t mounted_ms_ = 0;

  fuse_session* se_ = nullptr;
  std::thread loop_;
  std::thread follower_;
  std::mutex follower_mu_;
  std::condition_variable follower_cv_;
  grpc::ClientContext* follower_ctx_ = nullptr;  // the Watch call in flight
  bool stopping_ = false;

  // Lists the subdirectories of a directory being read, ahead of the walk
  // (while a ListAhead job has not reached them yet).
  TaskPool list_ahead_{4, 4096};
  void PrefetchSubdirectories(fuse_ino_t dir);
  // Lists a directory and its subtree into the kernel once names in it are
  // looked up one by one (see kernel_primer.h); stopped before the session.
  std::unique_ptr<KernelPrimer> primer_;
  std::atomic<int64_t> lookups_{0};  // names the kernel asked for one by one

  std::mutex listing_mu_;
  std::map<fuse_ino_t, std::shared_future<int>> listing_;

  std::mutex jobs_mu_;
  std::vector<std::pair<std::thread, std::shared_ptr<PrefetchJob>>> jobs_;
  std::shared_ptr<PrefetchJob> background_;

  bool no_open_ = false;     // the kernel skips OPEN/RELEASE (set in Init)
  bool no_opendir_ = false;  // and OPENDIR/RELEASEDIR
};

}  // namespace cifs
