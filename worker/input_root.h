// Lays out an action's input root from the CAS: directories made, files
// placed from the worker's file cache, symlinks as given. Names are checked
// (no "", ".", "..", "/"), so nothing lands outside `root`.
#pragma once

#include <string>
#include <vector>

#include "build/bazel/remote/execution/v2/remote_execution.pb.h"
#include "common/status.h"
#include "worker/cas_client.h"
#include "worker/file_cache.h"

namespace cifs {

// NotFound with `missing` filled when the farm lacks some of the inputs.
[[nodiscard]] Status MaterializeInputRoot(CasClient& cas, FileCache& cache, const re::Digest& root_digest,
                                          const std::string& root, std::vector<Digest>* missing);

}  // namespace cifs
