// What a user may ask of the Bazel the farm runs: the command, the targets and
// command options. Everything that would change the farm (startup options,
// output roots, the cache and event service the farm points Bazel at, files
// written outside the output tree) is refused before anything runs.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

// `kit_dir` is the offline kit: repository and cache flags may point into it.
Status CheckBazelRequest(const std::string& command, const std::vector<std::string>& targets,
                         const std::vector<std::string>& flags, const std::string& kit_dir);

}  // namespace cifs
