// A worker's local copies of CAS blobs, one read-only file per digest (and a
// separate inode for the executable variant, so a chmod never reaches the
// other). Input roots are hardlinks to these files; where the filesystem
// refuses another link (EMLINK) a private copy stands in.
//
// Actions run as the uid that owns the cache, so an action could chmod and
// rewrite an input it was handed. Every file an action was given is checked
// afterwards (its inode's ctime moves on any such change); a touched file
// leaves the cache, and the next action gets a fresh one.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"
#include "worker/cas_client.h"

namespace cifs {

class FileCache {
 public:
  explicit FileCache(std::string dir) : dir_(std::move(dir)) {}

  // Fetches what of `need` is not cached yet from `cas` (the node that
  // handed out the action). NotFound with `missing` set when it lacks some.
  [[nodiscard]] Status Fill(CasClient& cas, const std::vector<Digest>& need, std::vector<Digest>* missing);
  // Puts the content of `d` at `path` (hardlink, or a copy); NotFound when
  // it is not cached (Fill it, then Place again).
  [[nodiscard]] Status Place(const Digest& d, bool executable, const std::string& path);

  // Evicts what Place handed out since the last Check that was changed
  // since (by the action), and returns how many.
  int Check();

 private:
  std::string PathOf(const Digest& d, bool executable) const;
  [[nodiscard]] Status Store(const Digest& d, const std::string& data);

  std::string dir_;
  std::map<std::string, struct timespec> handed_;  // cache path -> its ctime once placed
};

}  // namespace cifs
