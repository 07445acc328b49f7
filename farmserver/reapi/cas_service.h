// REAPI Capabilities and ContentAddressableStorage on the content store.
#pragma once

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/metrics.h"
#include "store/content_store.h"

namespace cifs {

namespace re = build::bazel::remote::execution::v2;

class CapabilitiesService final : public re::Capabilities::Service {
 public:
  grpc::Status GetCapabilities(grpc::ServerContext* ctx, const re::GetCapabilitiesRequest* req,
                               re::ServerCapabilities* resp) override;
};

class CasService final : public re::ContentAddressableStorage::Service {
 public:
  CasService(ContentStore* store, Authenticator* auth, Metrics* metrics)
      : store_(store), auth_(auth), metrics_(metrics) {}

  grpc::Status FindMissingBlobs(grpc::ServerContext* ctx, const re::FindMissingBlobsRequest* req,
                                re::FindMissingBlobsResponse* resp) override;
  grpc::Status BatchUpdateBlobs(grpc::ServerContext* ctx, const re::BatchUpdateBlobsRequest* req,
                                re::BatchUpdateBlobsResponse* resp) override;
  grpc::Status BatchReadBlobs(grpc::ServerContext* ctx, const re::BatchReadBlobsRequest* req,
                              re::BatchReadBlobsResponse* resp) override;
  grpc::Status GetTree(grpc::ServerContext* ctx, const re::GetTreeRequest* req,
                       grpc::ServerWriter<re::GetTreeResponse>* writer) override;

 private:
  ContentStore* store_;
  Authenticator* auth_;
  Metrics* metrics_;
};

}  // namespace cifs
