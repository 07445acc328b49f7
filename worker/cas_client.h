// The worker's side of the farm's CAS: batches for small blobs, ByteStream
// for large ones, straight from and to files.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "common/digest.h"
#include "common/status.h"
#include "google/bytestream/bytestream.grpc.pb.h"

namespace cifs {

namespace re = build::bazel::remote::execution::v2;

// A blob to upload: its bytes in `data`, or in the file at `path`.
struct UploadBlob {
  Digest digest;
  std::string data;
  std::string path;
};

class CasClient {
 public:
  explicit CasClient(std::shared_ptr<grpc::Channel> channel);

  [[nodiscard]] Result<std::vector<Digest>> FindMissing(const std::vector<Digest>& digests);
  // Hands each of `want` to `sink` once read. NotFound names the first
  // digest the farm does not have; `missing` then lists all of them.
  [[nodiscard]] Status Fetch(const std::vector<Digest>& want,
                             const std::function<Status(const Digest&, std::string)>& sink,
                             std::vector<Digest>* missing);
  // Uploads what the farm does not have yet.
  [[nodiscard]] Status Upload(const std::vector<UploadBlob>& blobs);

 private:
  [[nodiscard]] Status ReadLarge(const Digest& d, std::string* out);
  [[nodiscard]] Status WriteLarge(const UploadBlob& blob);

  std::unique_ptr<re::ContentAddressableStorage::Stub> cas_;
  std::unique_ptr<google::bytestream::ByteStream::Stub> bytestream_;
};

}  // namespace cifs
