// ByteStream resource names (REAPI v2):
//   read:  [{instance}/]blobs/{hash}/{size}
//   write: [{instance}/]uploads/{uuid}/blobs/{hash}/{size}[/{anything}]
#pragma once

#include <string>

#include "common/digest.h"
#include "common/status.h"

namespace cifs {

struct ReadResource {
  std::string instance;
  Digest digest;
};

struct WriteResource {
  std::string instance;
  std::string uuid;
  Digest digest;
};

Result<ReadResource> ParseReadResource(const std::string& name);
Result<WriteResource> ParseWriteResource(const std::string& name);
Result<Digest> DigestFromProto(const std::string& hash, int64_t size);

}  // namespace cifs
