// google.bytestream.ByteStream over the content store: streaming reads with
// offsets, streaming writes verified against the digest, resumable through
// QueryWriteStatus while the farm runs.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "farmserver/auth.h"
#include "farmserver/metrics.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "store/content_store.h"

namespace cifs {

class ByteStreamService final : public google::bytestream::ByteStream::Service {
 public:
  ByteStreamService(ContentStore* store, Authenticator* auth, Metrics* metrics)
      : store_(store), auth_(auth), metrics_(metrics) {}

  grpc::Status Read(grpc::ServerContext* ctx, const google::bytestream::ReadRequest* req,
                    grpc::ServerWriter<google::bytestream::ReadResponse>* writer) override;
  grpc::Status Write(grpc::ServerContext* ctx, grpc::ServerReader<google::bytestream::WriteRequest>* reader,
                     google::bytestream::WriteResponse* resp) override;
  grpc::Status QueryWriteStatus(grpc::ServerContext* ctx, const google::bytestream::QueryWriteStatusRequest* req,
                                google::bytestream::QueryWriteStatusResponse* resp) override;

 private:
  // An upload that may be resumed: the writer keeps its bytes and hash state.
  struct Upload {
    std::mutex mu;  // one stream at a time per upload
    std::unique_ptr<BlobWriter> writer;
    std::string owner;
    std::chrono::steady_clock::time_point last_used;
    bool complete = false;
  };

  std::shared_ptr<Upload> FindOrCreateUpload(const std::string& key, const std::string& owner, bool* created);
  void DropUpload(const std::string& key);
  void ExpireIdleUploadsLocked();

  ContentStore* store_;
  Authenticator* auth_;
  Metrics* metrics_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Upload>> uploads_;  // key: resource name up to the size
};

}  // namespace cifs
