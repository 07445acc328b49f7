// Paths relative to a tree's root ("" is the root, '/'-separated), as the
// farm and the mounts name files in a workspace.
#pragma once

#include <fnmatch.h>

#include <string>
#include <string_view>

namespace cifs {

inline std::string JoinRelPath(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  if (!dir.empty()) {
    out.append(dir);
    out += '/';
  }
  out.append(name);
  return out;
}

// The directory holding `path` ("" for a name at the root).
inline std::string ParentRelPath(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

// Whether `path` is `dir` or below it ("" holds everything).
inline bool RelPathWithin(std::string_view path, std::string_view dir) {
  return dir.empty() || path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

// Whether `path` matches one of `globs` (fnmatch(3) without FNM_PATHNAME:
// `*` crosses '/'); no pattern at all matches everything.
template <typename Globs>
bool MatchesAnyGlob(const Globs& globs, const std::string& path) {
  if (std::empty(globs)) return true;
  for (const auto& g : globs) {
    if (::fnmatch(std::string(g).c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace cifs
