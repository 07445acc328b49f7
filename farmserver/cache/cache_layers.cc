#include "farmserver/cache/cache_layers.h"

#include <set>

#include "common/names.h"

namespace cifs {

Result<std::pair<std::string, std::string>> ParseCacheShard(const std::string& flag) {
  size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
    return Status::InvalidArgument("--cache-shard '" + flag + "': expected NODE=HOST:PORT");
  }
  std::string name = flag.substr(0, eq), address = flag.substr(eq + 1);
  CIFS_RETURN_IF_ERROR(ValidateName("node", name));
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
      address.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return Status::InvalidArgument("--cache-shard '" + flag + "': the address must be HOST:PORT");
  }
  return std::pair{name, address};
}

Result<std::unique_ptr<CacheLayers>> CacheLayers::Compose(const CacheTopology& t, ContentStore* local_cas,
                                                          ActionCache* local_ac) {
  auto layers = std::make_unique<CacheLayers>();
  if (t.shards.empty()) {
    layers->cas_ = local_cas;
    layers->ac_ = local_ac;
    layers->description_ = "this node's store";
    layers->AddWorkspaceFiles(t.workspace_files);
    return layers;
  }
  std::set<std::string> seen;
  bool has_self = false;
  for (const auto& [name, address] : t.shards) {
    if (!seen.insert(name).second) return Status::InvalidArgument("--cache-shard names node '" + name + "' twice");
    has_self |= name == t.self;
  }
  if (!has_self) {
    return Status::InvalidArgument("--cache-shard must name this node ('" + t.self +
                                   "') too: every node holds a share, and all must list the same nodes");
  }
  if (t.peer.cert_pem.empty() || t.peer.key_pem.empty()) {
    return Status::InvalidArgument("--cache-shard needs this node's peer certificate (--peer-cert, --peer-key)");
  }
  std::vector<std::string> names;
  std::vector<const ShardAvailability*> availability;
  std::vector<ContentStore*> cas;
  std::vector<ActionCache*> ac;
  layers->description_ = "sharded over";
  for (const auto& [name, address] : t.shards) {
    names.push_back(name);
    layers->description_ += " " + name;
    if (name == t.self) {
      availability.push_back(nullptr);
      cas.push_back(local_cas);
      ac.push_back(local_ac);
      layers->description_ += " (this node)";
      continue;
    }
    auto remote = std::make_unique<RemoteShard>(name, address, t.peer);
    auto verified = std::make_unique<VerifyingContentStore>(remote.get());
    availability.push_back(remote.get());
    cas.push_back(verified.get());
    ac.push_back(remote.get());
    layers->remotes_.push_back(std::move(remote));
    layers->verified_.push_back(std::move(verified));
  }
  layers->ring_ = std::make_unique<ShardRing>(names, availability);
  layers->sharded_cas_ = std::make_unique<ShardingContentStore>(layers->ring_.get(), cas);
  layers->sharded_ac_ = std::make_unique<ShardingActionCache>(layers->ring_.get(), ac);
  layers->cas_ = layers->sharded_cas_.get();
  layers->ac_ = layers->sharded_ac_.get();
  if (t.local_copies) {
    layers->copies_ = std::make_unique<ReadCachingContentStore>(layers->sharded_cas_.get(), local_cas);
    layers->cas_ = layers->copies_.get();
    layers->description_ += "; other nodes' blobs copied here as they are read";
  }
  layers->AddWorkspaceFiles(t.workspace_files);
  return layers;
}

void CacheLayers::AddWorkspaceFiles(WorkspaceFileIndex* files) {
  if (!files) return;
  workspace_files_ = std::make_unique<WorkspaceFilesStore>(cas_, files);
  cas_ = workspace_files_.get();
  description_ += "; workspace files served without upload";
}


}  // namespace cifs
