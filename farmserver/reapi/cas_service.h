// REAPI Capabilities and ContentAddressableStorage on the content store.
#pragma once

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "farmserver/arena_allocator.h"
#include "farmserver/auth.h"
#include "farmserver/metrics.h"
#include "store/content_store.h"

namespace cifs {

namespace re = build::bazel::remote::execution::v2;

class CapabilitiesService final : public re::Capabilities::Service {
 public:
  // `exec_enabled`: this node runs actions (it has workers).
  explicit CapabilitiesService(bool exec_enabled = false) : exec_enabled_(exec_enabled) {}
  grpc::Status GetCapabilities(grpc::ServerContext* ctx, const re::GetCapabilitiesRequest* req,
                               re::ServerCapabilities* resp) override;

 private:
  bool exec_enabled_;
};

// FindMissingBlobs is the hot call (every build asks about every input); it
// runs on gRPC's callback API so its messages live on an arena.
class CasService final
    : public re::ContentAddressableStorage::WithCallbackMethod_FindMissingBlobs<re::ContentAddressableStorage::Service> {
 public:
  CasService(ContentStore* store, Authenticator* auth, Metrics* metrics)
      : store_(store), auth_(auth), metrics_(metrics) {
    SetMessageAllocatorFor_FindMissingBlobs(&find_missing_allocator_);
  }

  grpc::ServerUnaryReactor* FindMissingBlobs(grpc::CallbackServerContext* ctx, const re::FindMissingBlobsRequest* req,
                                             re::FindMissingBlobsResponse* resp) override;
  grpc::Status BatchUpdateBlobs(grpc::ServerContext* ctx, const re::BatchUpdateBlobsRequest* req,
                                re::BatchUpdateBlobsResponse* resp) override;
  grpc::Status BatchReadBlobs(grpc::ServerContext* ctx, const re::BatchReadBlobsRequest* req,
                              re::BatchReadBlobsResponse* resp) override;
  grpc::Status GetTree(grpc::ServerContext* ctx, const re::GetTreeRequest* req,
                       grpc::ServerWriter<re::GetTreeResponse>* writer) override;

 private:
  grpc::Status FindMissing(const re::FindMissingBlobsRequest* req, re::FindMissingBlobsResponse* resp);

  ContentStore* store_;
  Authenticator* auth_;
  Metrics* metrics_;
  ArenaMessageAllocator<re::FindMissingBlobsRequest, re::FindMissingBlobsResponse> find_missing_allocator_;
};

}  // namespace cifs
