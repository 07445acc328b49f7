// An action's outputs as REAPI describes them: files with digests, directories
// as Tree messages, symlinks as links. Read with lstat only: a symlink the
// action made is reported as a symlink, never followed out of its root.
#pragma once

#include <string>
#include <vector>

#include "build/bazel/remote/execution/v2/remote_execution.pb.h"
#include "common/status.h"
#include "worker/cas_client.h"

namespace cifs {

// Fills `result`'s outputs from `command`'s declared paths under `workdir`
// (the host path of the working directory) and lists what to upload.
[[nodiscard]] Status CollectOutputs(const re::Command& command, const std::string& workdir, re::ActionResult* result,
                                    std::vector<UploadBlob>* uploads);

}  // namespace cifs
