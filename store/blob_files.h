// Large blobs as plain files beside the database: written once at disk speed
// (no WAL, no compaction), read with pread, dropped with unlink. An open file
// descriptor keeps a blob readable even after eviction unlinks it.
//
//   DIR/tmp/GEN            an upload in progress (its record is in `uploads`)
//   DIR/ab/HASH-SIZE       a verified blob, published by rename
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cifs {

class BlobFiles {
 public:
  explicit BlobFiles(std::string dir) : dir_(std::move(dir)) {}

  // Makes the directories and drops every upload left by a previous run
  // (the store discards those uploads on open).
  Status Init();
  // Creates DIR/tmp/GEN for writing; returns its file descriptor.
  Result<int> CreateTemp(uint64_t gen);
  // Moves a verified upload into place (fsync first when `sync`).
  Status Publish(uint64_t gen, const std::string& key, int fd, bool sync);
  void RemoveTemp(uint64_t gen);
  void RemoveFinal(const std::string& key);
  Result<int> OpenFinal(const std::string& key);

 private:
  std::string TempPath(uint64_t gen) const;
  std::string FinalPath(const std::string& key) const;

  std::string dir_;
};

// Writes all of data to fd, retrying short writes.
Status WriteAll(int fd, const char* data, size_t size);

}  // namespace cifs
