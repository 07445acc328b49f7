#include "fsd/farm_fs.h"

#include <cerrno>

#include "common/rel_path.h"

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

void FarmFs::EnterMutation() {
  std::unique_lock gate(gate_mu_);
  gate_cv_.wait(gate, [&] { return !batch_waiting_; });
  ++in_flight_;
  ++mutations_begun_;
}

uint64_t FarmFs::QuietMark() {
  std::lock_guard gate(gate_mu_);
  return in_flight_ == 0 ? mutations_begun_ : UINT64_MAX;
}

void FarmFs::LeaveMutation() {
  std::lock_guard gate(gate_mu_);
  if (--in_flight_ == 0) gate_cv_.notify_all();
}

void FarmFs::Touched(std::initializer_list<std::string> paths) {
  std::lock_guard gate(gate_mu_);
  for (const auto& p : paths) touched_.emplace_back(mutations_begun_, p);
  while (touched_.size() > kMaxTouched) {
    touched_floor_ = touched_.front().first;
    touched_.pop_front();
  }
}

void FarmFs::TouchedUnknown() {
  std::lock_guard gate(gate_mu_);
  touched_floor_ = mutations_begun_;
}

bool FarmFs::Touches(const std::string& path, const std::string& dir) {
  // The directory itself or one above it (renamed, removed, its mode
  // changed), an entry directly in it, or an entry of one of its
  // subdirectories (whose mtime and size, in this listing, moved with it).
  if (RelPathWithin(dir, path)) return true;
  std::string parent = ParentRelPath(path);
  return parent == dir || (!parent.empty() && ParentRelPath(parent) == dir);
}

bool FarmFs::ChangedSince(const std::string& path, uint64_t stat_after) const {
  // A rename of a directory above moves the path too.
  for (size_t end = path.size(); end != std::string::npos && end > 0; end = path.rfind('/', end - 1)) {
    auto it = recent_.find(path.substr(0, end));
    if (it != recent_.end() && it->second > stat_after) return true;
  }
  return false;
}

}  // namespace cifs
