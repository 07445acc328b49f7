// The offline Bazel kit: local stand-ins for the repositories Bazel 4.2.3
// would download, and the JNI library that gives Debian's Bazel TLS with ALPN.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cifs {

// Where the kit is: the config's bazel_kit, $CIFS_BAZEL_KIT, next to the
// installed binary (PREFIX/share/cifs/bazel-kit) or in the build tree.
Result<std::string> FindBazelKit(const std::string& configured);

// bazelrc lines that make Bazel 4.2.3 work offline with TLS, from the kit.
std::vector<std::string> KitBazelrcLines(const std::string& kit_dir);

}  // namespace cifs
