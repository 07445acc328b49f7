// A RocksDB status as ours, for every store built on RocksDB: a full disk is
// ResourceExhausted (the caller can say which disk), the rest Internal.
#pragma once

#include <rocksdb/status.h>

#include <string>

#include "common/status.h"

namespace cifs {

inline Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNoSpace()) return Status::ResourceExhausted(what + ": disk full: " + s.ToString());
  return Status::Internal(what + ": " + s.ToString());
}

}  // namespace cifs
