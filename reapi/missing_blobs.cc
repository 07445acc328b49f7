#include "reapi/missing_blobs.h"

#include "google/rpc/error_details.pb.h"

namespace cifs {

google::rpc::Status MissingBlobsStatus(const std::vector<Digest>& missing, const std::string& message) {
  google::rpc::PreconditionFailure failure;
  for (const auto& d : missing) {
    auto* v = failure.add_violations();
    v->set_type("MISSING");
    v->set_subject("blobs/" + d.hash + "/" + std::to_string(d.size));
  }
  google::rpc::Status status;
  status.set_code(9 /* FAILED_PRECONDITION */);
  status.set_message(message);
  status.add_details()->PackFrom(failure);
  return status;
}

}  // namespace cifs
