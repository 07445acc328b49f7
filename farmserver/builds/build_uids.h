// The uid each workspace's farm builds run as: one of an admin-chosen range
// (--build-uids), a different one for every workspace and for every
// repository's validations, so the kernel keeps builds out of each other's
// trees, output roots and credentials. The uids need no passwd entries. The
// map is kept in a file so a workspace keeps its uid across restarts; a uid
// is never handed out twice, so whatever a deleted workspace's builds left
// behind belongs to nobody who builds again.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"

namespace cifs {

struct UidRange {
  uid_t first = 0;
  uid_t last = 0;
};

// "FIRST-LAST", both above 999 (system and login users stay out of it).
Result<UidRange> ParseUidRange(const std::string& text);

class BuildUids {
 public:
  // An empty map; Open loads one.
  BuildUids(std::string path, UidRange range) : path_(std::move(path)), range_(range), next_(range.first) {}
  // Loads the map from `path` (absent: empty).
  static Result<std::unique_ptr<BuildUids>> Open(std::string path, UidRange range);

  // The uid of `key` (a workspace, or "@validate-REPO"), handing out the
  // next unused one the first time. ResourceExhausted past the range's end.
  Result<uid_t> For(const std::string& key);
  // The uid of `key` if it has one.
  std::optional<uid_t> Find(const std::string& key);
  // Forgets `key`; its uid is not handed out again.
  Status Forget(const std::string& key);

 private:
  Status SaveLocked() const;

  std::string path_;
  UidRange range_;
  std::mutex mu_;
  uid_t next_;
  std::map<std::string, uid_t> uids_;
};

}  // namespace cifs
