// cifs::Status as a gRPC status: the codes are the same numbers by design.
// Header-only, for the binaries that speak gRPC (common itself does not).
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace cifs {

inline grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace cifs
