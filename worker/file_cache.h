// A worker's local copies of CAS blobs, one read-only file per digest (and a
// separate inode for the executable variant, so a chmod never reaches the
// other). Input roots are hardlinks to these files; where the filesystem
// refuses another link (EMLINK) a private copy stands in.
//
// Actions run as the uid that owns the cache, so an action could chmod and
// rewrite an input it was handed. Every file an action was given is checked
// afterwards (its inode's ctime moves on any such change); a touched file
// leaves the cache, and the next action gets a fresh one.
//
// The cache is bounded: after each action the files least recently placed go
// until it holds `max_bytes` (an input root larger than that stays whole
// while its action runs).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <list>
#include <map>
#include <unordered_map>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"
#include "worker/cas_client.h"

namespace cifs {

class FileCache {
 public:
  FileCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  // Learns what an earlier process of this worker cached, oldest first.
  void Load();

  // Fetches what of `need` is not cached yet from `cas` (the node that
  // handed out the action). NotFound with `missing` set when it lacks some.
  [[nodiscard]] Status Fill(CasClient& cas, const std::vector<Digest>& need, std::vector<Digest>* missing);
  // Puts the content of `d` at `path` (hardlink, or a copy); NotFound when
  // it is not cached (Fill it, then Place again).
  [[nodiscard]] Status Place(const Digest& d, bool executable, const std::string& path);

  // Evicts what Place handed out since the last Check that was changed
  // since (by the action), and returns how many.
  int Check();
  // Evicts the least recently placed files until the cache holds at most
  // max_bytes; returns how many went.
  int Trim();
  uint64_t bytes() const { return bytes_; }

 private:
  std::string PathOf(const Digest& d, bool executable) const;
  [[nodiscard]] Status Store(const Digest& d, const std::string& data);

  std::string dir_;
  // `path` was added or placed: the most recently used now.
  void Used(const std::string& path, uint64_t size);
  void Evict(const std::string& path);

  uint64_t max_bytes_;
  std::map<std::string, struct timespec> handed_;  // cache path -> its ctime once placed
  std::list<std::pair<std::string, uint64_t>> lru_;  // least recently used first: path, size
  std::unordered_map<std::string, std::list<std::pair<std::string, uint64_t>>::iterator> index_;
  uint64_t bytes_ = 0;
};

}  // namespace cifs
