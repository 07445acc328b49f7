// This node's share of a cluster's cache, for the other nodes
// (cifs.v1.CacheShard; see proto/cifs/v1/cache_shard.proto). It works on the
// node's own store only, so a call never travels further, and it answers
// only callers holding a node's peer certificate: the tier a call names was
// chosen by the node that authenticated the user.
#pragma once

#include "cifs/v1/cache_shard.grpc.pb.h"
#include "farmserver/auth.h"
#include "store/action_cache.h"
#include "store/content_store.h"

namespace cifs {

class CacheShardService final : public v1::CacheShard::Service {
 public:
  CacheShardService(ContentStore* cas, ActionCache* ac, Authenticator* auth) : cas_(cas), ac_(ac), auth_(auth) {}

  grpc::Status FindMissing(grpc::ServerContext* ctx, const v1::ShardFindMissingRequest* req,
                           v1::ShardFindMissingResponse* resp) override;
  grpc::Status ReadBlob(grpc::ServerContext* ctx, const v1::ShardReadBlobRequest* req,
                        v1::ShardReadBlobResponse* resp) override;
  grpc::Status WriteBlob(grpc::ServerContext* ctx, grpc::ServerReader<v1::ShardWriteBlobRequest>* reader,
                         v1::ShardWriteBlobResponse* resp) override;
  grpc::Status GetAction(grpc::ServerContext* ctx, const v1::ShardGetActionRequest* req,
                         v1::ShardGetActionResponse* resp) override;
  grpc::Status PutAction(grpc::ServerContext* ctx, const v1::ShardPutActionRequest* req,
                         v1::ShardPutActionResponse* resp) override;
  grpc::Status MoveTier(grpc::ServerContext* ctx, const v1::ShardMoveTierRequest* req,
                        v1::ShardMoveTierResponse* resp) override;
  grpc::Status DropTier(grpc::ServerContext* ctx, const v1::ShardDropTierRequest* req,
                        v1::ShardDropTierResponse* resp) override;

 private:
  grpc::Status CheckCaller(const grpc::ServerContext* ctx);

  ContentStore* cas_;
  ActionCache* ac_;
  Authenticator* auth_;
};

}  // namespace cifs
