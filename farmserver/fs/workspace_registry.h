// The workspaces the filesystem service has open: who owns each, a handle on
// its directory and its change journal (with the watcher feeding it, started
// when the first mount attaches).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "farmserver/fs/change_journal.h"
#include "farmserver/fs/kept_files.h"
#include "farmserver/fs/tree_watcher.h"
#include "farmserver/fs/workspace_dir.h"
#include "metadata/metadata_store.h"
#include "workspace/provisioner.h"

namespace cifs {

struct OpenWorkspace {
  std::string name;
  std::string owner;
  std::unique_ptr<WorkspaceDir> dir;
  ChangeJournal journal;
  std::atomic<uint64_t> mutations{0};  // changing calls completed
  KeptFiles kept;  // removed through a mount while perhaps open there

  Status EnsureWatched();

 private:
  std::mutex watcher_mu_;
  std::unique_ptr<TreeWatcher> watcher_;
};

class WorkspaceRegistry {
 public:
  // `node`: this farmserver's name in a cluster (empty: a single node).
  WorkspaceRegistry(WorkspaceStore* workspaces, Provisioner* provisioner, std::string node)
      : workspaces_(workspaces), provisioner_(provisioner), node_(std::move(node)) {}

  // NotFound for a workspace that does not exist, Unavailable for one held
  // by another node.
  Result<std::shared_ptr<OpenWorkspace>> Get(const std::string& name);
  // Drops it (deleted): mounts of it then get NOT_FOUND.
  void Forget(const std::string& name);

 private:
  WorkspaceStore* workspaces_;
  Provisioner* provisioner_;
  const std::string node_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<OpenWorkspace>> open_;
};

}  // namespace cifs
