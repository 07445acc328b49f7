#include "farmserver/builds/build_uids.h"

#include <charconv>
#include <sstream>

#include "common/files.h"

namespace cifs {

namespace {

constexpr uid_t kLowestBuildUid = 1000;

bool ParseUid(std::string_view s, uid_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

Result<UidRange> ParseUidRange(const std::string& text) {
  auto dash = text.find('-');
  UidRange r;
  if (dash == std::string::npos || !ParseUid(std::string_view(text).substr(0, dash), &r.first) ||
      !ParseUid(std::string_view(text).substr(dash + 1), &r.last)) {
    return Status::InvalidArgument("--build-uids '" + text + "' is not FIRST-LAST (e.g. 810000-819999)");
  }
  if (r.first < kLowestBuildUid || r.last < r.first || r.last >= 0xfffffffe) {
    return Status::InvalidArgument("--build-uids '" + text +
                                   "' must be an ascending range from 1000 up (below 1000 are system users)");
  }
  return r;
}

Result<std::unique_ptr<BuildUids>> BuildUids::Open(std::string path, UidRange range) {
  auto owned = std::make_unique<BuildUids>(std::move(path), range);
  BuildUids& u = *owned;
  auto text = ReadFile(u.path_);
  if (!text.ok()) return owned;  // none yet
  // Lines: "next N" once, then "UID KEY".
  std::istringstream in(*text);
  std::string first, second;
  while (in >> first >> second) {
    uid_t n;
    if (!ParseUid(first == "next" ? second : first, &n)) {
      return Status::Internal("build uid map " + u.path_ + " is damaged");
    }
    if (first == "next") {
      u.next_ = n;
    } else {
      u.uids_[second] = n;
    }
  }
  // Counted within the range: one the farm used before (another range) says
  // nothing about this one.
  if (u.next_ < range.first || u.next_ > range.last + 1) u.next_ = range.first;
  for (const auto& [key, uid] : u.uids_) {
    if (uid >= range.first && uid <= range.last && uid >= u.next_) u.next_ = uid + 1;
  }
  return owned;
}

Result<uid_t> BuildUids::For(const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto it = uids_.find(key); it != uids_.end()) {
    if (it->second >= range_.first && it->second <= range_.last) return it->second;
    uids_.erase(it);  // the range changed: a new one from the new range
  }
  if (next_ < range_.first) next_ = range_.first;
  if (next_ > range_.last) {
    return Status::ResourceExhausted("every uid of --build-uids " + std::to_string(range_.first) + "-" +
                                     std::to_string(range_.last) + " has been used; give the farm a wider range");
  }
  uid_t uid = next_++;
  uids_[key] = uid;
  CIFS_RETURN_IF_ERROR(SaveLocked());
  return uid;
}

std::optional<uid_t> BuildUids::Find(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = uids_.find(key);
  if (it == uids_.end()) return std::nullopt;
  return it->second;
}

Status BuildUids::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  if (uids_.erase(key) == 0) return Status::Ok();
  return SaveLocked();
}

Status BuildUids::SaveLocked() const {
  std::string text = "next " + std::to_string(next_) + "\n";
  for (const auto& [key, uid] : uids_) text += std::to_string(uid) + " " + key + "\n";
  return WriteFileAtomic(path_, text, 0600);
}

}  // namespace cifs
