// The farm cache as the node's REAPI services see it, composed from small
// store layers by configuration (Buildbarn's blobstore is the model):
//
//   one node:   workspace-files( local RocksDB )
//   a cluster:  workspace-files( read-caching( sharding( local |
//                  verifying(remote peer) ... ), local ) )
//
// The workspace-files layer (workspace_files.h) finds content in this
// node's workspaces that no store holds yet.
//
// Sharding sends each digest to its owner (rendezvous hashing over the
// configured nodes); the verifying layer checks every byte another node
// returns; read-caching keeps a copy of what other nodes served on this
// node's disk. Workspaces keep using the local store directly: their pins
// belong to the node that holds them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "farmserver/cache/remote_shard.h"
#include "farmserver/cache/workspace_files.h"
#include "store/read_caching_store.h"
#include "store/sharding_store.h"
#include "store/verifying_store.h"

namespace cifs {

struct CacheTopology {
  std::string self;                                         // this node's name among `shards`
  std::vector<std::pair<std::string, std::string>> shards;  // name, host:port; empty: no sharding
  PeerCredentials peer;
  bool local_copies = true;  // the read-caching layer
  WorkspaceFileIndex* workspace_files = nullptr;  // the workspace-files layer; null: none
};

// NAME=HOST:PORT, as --cache-shard takes it.
Result<std::pair<std::string, std::string>> ParseCacheShard(const std::string& flag);

class CacheLayers {
 public:
  static Result<std::unique_ptr<CacheLayers>> Compose(const CacheTopology& topology, ContentStore* local_cas,
                                                      ActionCache* local_ac);

  ContentStore* cas() const { return cas_; }
  ActionCache* ac() const { return ac_; }
  // One line for the start-up log.
  std::string Describe() const { return description_; }

 private:
  std::vector<std::unique_ptr<RemoteShard>> remotes_;
  std::vector<std::unique_ptr<VerifyingContentStore>> verified_;
  std::unique_ptr<ShardRing> ring_;
  std::unique_ptr<ShardingContentStore> sharded_cas_;
  std::unique_ptr<ShardingActionCache> sharded_ac_;
  std::unique_ptr<ReadCachingContentStore> copies_;
  std::unique_ptr<WorkspaceFilesStore> workspace_files_;
  // The top layer, over whatever the topology made.
  void AddWorkspaceFiles(WorkspaceFileIndex* files);

  ContentStore* cas_ = nullptr;
  ActionCache* ac_ = nullptr;
  std::string description_;
};

}  // namespace cifs
