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
// (the host path of the working directory, open as `workdir_fd`) and lists
// what to upload. Call it once nothing of the action runs any more: an
// output whose path passes through a symlink is left out (as missing), and
// the paths checked stay as they were.
[[nodiscard]] Status CollectOutputs(const re::Command& command, const std::string& workdir, int workdir_fd,
                                    re::ActionResult* result, std::vector<UploadBlob>* uploads);

}  // namespace cifs
