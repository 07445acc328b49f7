#include "client/commands/current_workspace.h"

#include <filesystem>

#include "common/mounts.h"

namespace cifs {

namespace fs = std::filesystem;

Result<std::pair<std::string, std::string>> WorkspaceFromCwd(const ClientConfig& config) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) return Status::FailedPrecondition("cannot read the current directory");
  for (const auto& m : LoadMountRecords(FsdDir(config))) {
    fs::path mp = fs::path(m.mountpoint).lexically_normal();
    auto rel = cwd.lexically_relative(mp);
    if (rel.empty() || *rel.begin() == "..") continue;
    if (!IsCifsMount(m.mountpoint)) continue;
    std::string sub = rel == "." ? "" : rel.string();
    return std::make_pair(m.workspace, sub);
  }
  return Status::FailedPrecondition(
      "not inside a mounted workspace: run this in a `cifs mount` directory or pass --workspace NAME");
}

}  // namespace cifs
