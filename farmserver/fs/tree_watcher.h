// Watches a workspace's farm-side tree with inotify and records every
// change in a ChangeJournal: edits through the mount, a `git checkout` run
// on the farm, a build tool writing there. One watch per directory; new
// directories are watched (and their contents reported) as they appear.
// Setting the watches up runs in the background and ends with a reset.
#pragma once

#include <sys/inotify.h>

#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/status.h"
#include "common/unique_fd.h"
#include "farmserver/fs/change_journal.h"

namespace cifs {

class TreeWatcher {
 public:
  static Result<std::unique_ptr<TreeWatcher>> Start(std::string root, ChangeJournal* journal);
  struct Passkey {
    explicit Passkey() = default;
  };
  TreeWatcher(Passkey, std::string root, ChangeJournal* journal, UniqueFd inotify, UniqueFd stop);
  ~TreeWatcher();
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

 private:
  void Run();
  // Watches `rel` and every directory below it; with `report`, records
  // each entry found (they may predate the watch).
  void WatchTree(const std::string& rel, bool report);
  void Handle(const struct inotify_event& ev);

  std::string root_;
  ChangeJournal* journal_;
  UniqueFd inotify_;
  UniqueFd stop_;  // eventfd
  std::unordered_map<int, std::string> paths_;  // watch descriptor -> relative dir; touched by Run only
  std::thread thread_;
};

}  // namespace cifs
