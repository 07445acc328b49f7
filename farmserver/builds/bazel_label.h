// Which Bazel the farm's builds run, as a version a user can read. Bazel
// reports its release in the build events, but one built from source (as
// Debian's bazel-bootstrap) says "no_version": then the package that
// installed the binary names it.
#pragma once

#include <string>

namespace cifs {

// `bazel` (an absolute path): its release ("4.2.3"), or its Debian
// package's version ("4.2.3+ds-9 (Debian bazel-bootstrap)"), or "unknown".
std::string DescribeBazel(const std::string& bazel);

}  // namespace cifs
