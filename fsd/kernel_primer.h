// Lists directories into the kernel ahead of a scan. A cold `git status`
// looks every tracked path up by name, one round trip to fsd each (about
// 20 us on two cores, 110,000 of them for a 100,000-file tree), where one
// READDIRPLUS hands the kernel a whole directory's entries with their
// attributes, and fills its readdir cache for the untracked-files pass that
// follows. So once names in a directory are looked up one by one, fsd reads
// that directory and its subtree through its own mount, in the order a scan
// reaches them, ahead of the scan.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/task_pool.h"
#include "fsd/inode_table.h"

namespace cifs {

// Which directories to prime: no I/O, no threads.
class PrimeClaims {
 public:
  static constexpr uint8_t kLookupsBeforePriming = 2;  // one is any path walk

  // A name in `dir` was looked up one by one. True once per directory, on
  // the kLookupsBeforePriming-th: `dir` is then claimed.
  bool NoteLookup(fuse_ino_t dir);
  // False if `dir` is claimed already (primed, being primed, or listed by
  // the kernel itself).
  bool Claim(fuse_ino_t dir);
  // A claim that was not carried out: lookups may claim `dir` again.
  void Release(fuse_ino_t dir);
  // The kernel forgot `dir`, and the entries it was given with it.
  void Forget(fuse_ino_t dir) { Release(dir); }

 private:
  static constexpr uint8_t kClaimed = 0xff;
  std::mutex mu_;
  std::unordered_map<fuse_ino_t, uint8_t> seen_;  // lookups so far, or kClaimed
};

class KernelPrimer {
 public:
  struct Options {
    std::string mountpoint;
    int threads = 32;  // a walk per scanning thread (git status runs 20)
    // A scan is followed this far below the directory that showed it: the
    // kernel keeps about 1 KB per entry it is given, until memory is short.
    size_t dirs_per_scan = 1024;
  };
  KernelPrimer(Options options, InodeTable* table);
  ~KernelPrimer() { Stop(); }

  // A name in `dir` was found by lookup (called after the reply).
  void NoteLookup(fuse_ino_t dir);
  // The kernel read `dir` itself: its entries and listing are cached.
  void NoteListed(fuse_ino_t dir) { (void)claims_.Claim(dir); }
  void NoteForgotten(fuse_ino_t dir) { claims_.Forget(dir); }
  // Ends the walks in progress after their current directory; before the
  // FUSE session ends, since a walk waits on this mount's answers.
  void Stop();
  int64_t primed_dirs() const { return primed_.load(std::memory_order_relaxed); }

 private:
  void PrimeSubtree(fuse_ino_t top);
  // Opens workspace directory `path` beneath `root_fd` without following
  // symlinks, and reads it to the end: 0, or the errno that stopped it.
  static int ListIntoKernel(int root_fd, const std::string& path);

  Options options_;
  InodeTable* table_;
  PrimeClaims claims_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> primed_{0};
  TaskPool pool_;  // last: its threads use the members above
};

}  // namespace cifs
