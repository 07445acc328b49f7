#include "farmserver/fs/workspace_registry.h"

#include "farmserver/fs/placement.h"

namespace cifs {

Status OpenWorkspace::EnsureWatched() {
  std::lock_guard lock(watcher_mu_);
  if (watcher_) return Status::Ok();
  auto w = TreeWatcher::Start(dir->root(), &journal);
  if (!w.ok()) return w.status();
  watcher_ = std::move(*w);
  return Status::Ok();
}

Result<std::shared_ptr<OpenWorkspace>> WorkspaceRegistry::Get(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(name);
    if (it != open_.end()) return it->second;
  }
  CIFS_RETURN_IF_ERROR(ValidateName("workspace", name));
  auto record = workspaces_->GetWorkspace(name);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return Status::NotFound("no workspace '" + name + "'");
  CIFS_RETURN_IF_ERROR(CheckOnThisNode(**record, node_));
  auto dir = WorkspaceDir::Open(provisioner_->WorkspacePath(name));
  if (!dir.ok()) return dir.status();
  auto ws = std::make_shared<OpenWorkspace>();
  ws->name = name;
  ws->owner = (*record)->owner();
  ws->dir = std::move(*dir);
  std::lock_guard lock(mu_);
  auto [it, inserted] = open_.emplace(name, ws);
  return it->second;  // another caller may have opened it first
}

void WorkspaceRegistry::Forget(const std::string& name) {
  std::lock_guard lock(mu_);
  open_.erase(name);
}

}  // namespace cifs
