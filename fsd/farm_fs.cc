#include "fsd/farm_fs.h"

#include <cerrno>

namespace cifs {

int FarmFs::FromGrpc(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return EACCES;
    case grpc::StatusCode::NOT_FOUND:
      return ENOENT;  // the workspace was deleted
    case grpc::StatusCode::INVALID_ARGUMENT:
      return EINVAL;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return EFBIG;
    default:
      connected_ = false;
      return EIO;
  }
}

}  // namespace cifs
