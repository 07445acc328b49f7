// The answer REAPI prescribes for inputs the CAS lacks: FAILED_PRECONDITION
// with one MISSING violation per blob, which makes Bazel upload them and ask
// again. Given by the farm (the Action or Command is absent) and by a worker
// (an input vanished before it fetched it), so it lives here, for both.
#pragma once

#include <string>
#include <vector>

#include "common/digest.h"
#include "google/rpc/status.pb.h"

namespace cifs {

google::rpc::Status MissingBlobsStatus(const std::vector<Digest>& missing, const std::string& message);

}  // namespace cifs
