#include "common/status.h"

#include <cstring>

namespace cifs {

Status Status::IoError(const std::string& what, int err) {
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT: code = Code::kNotFound; break;
    case EEXIST: code = Code::kAlreadyExists; break;
    case EACCES:
    case EPERM: code = Code::kPermissionDenied; break;
    case ENOSPC:
    case EDQUOT: code = Code::kResourceExhausted; break;
    case EINVAL: code = Code::kInvalidArgument; break;
    default: break;
  }
  return {code, what + ": " + std::strerror(err)};
}

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kCancelled: return "CANCELLED";
    case Status::Code::kUnknown: return "UNKNOWN";
    case Status::Code::kInvalidArgument: return "INVALID_ARGUMENT";
    case Status::Code::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case Status::Code::kNotFound: return "NOT_FOUND";
    case Status::Code::kAlreadyExists: return "ALREADY_EXISTS";
    case Status::Code::kPermissionDenied: return "PERMISSION_DENIED";
    case Status::Code::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case Status::Code::kFailedPrecondition: return "FAILED_PRECONDITION";
    case Status::Code::kAborted: return "ABORTED";
    case Status::Code::kOutOfRange: return "OUT_OF_RANGE";
    case Status::Code::kUnimplemented: return "UNIMPLEMENTED";
    case Status::Code::kInternal: return "INTERNAL";
    case Status::Code::kUnavailable: return "UNAVAILABLE";
    case Status::Code::kDataLoss: return "DATA_LOSS";
    case Status::Code::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace cifs
