#include "farmserver/prs/affected.h"

#include <algorithm>
#include <optional>
#include <sstream>

namespace cifs {
namespace {

// Above this many roots the query is asked per package instead.
constexpr size_t kMaxRoots = 400;

bool IsBuildFile(const std::string& name) { return name == "BUILD" || name == "BUILD.bazel"; }

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The package holding `path`: its longest directory prefix in `packages`.
std::optional<std::string> PackageOf(const std::string& path, const std::set<std::string>& packages) {
  std::string dir = path;
  for (;;) {
    auto slash = dir.rfind('/');
    dir = slash == std::string::npos ? "" : dir.substr(0, slash);
    if (packages.count(dir)) return dir;
    if (dir.empty()) return std::nullopt;
  }
}

bool Intersect(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return true;
    if (*i < *j) ++i;
    else ++j;
  }
  return false;
}

}  // namespace

ChangeAnalysis AnalyzeChanges(const std::vector<ChangedPath>& changed, const std::set<std::string>& packages_before,
                              const std::set<std::string>& packages_after) {
  ChangeAnalysis out;
  auto everything = [&](const std::string& why) {
    out.everything = true;
    out.why = why;
    out.roots.clear();
    return out;
  };
  for (const auto& p : packages_before) {
    if (!packages_after.count(p)) return everything("it removes the package //" + p);
  }
  std::set<std::string> roots, packages;
  for (const auto& c : changed) {
    const std::string name = BaseName(c.path);
    const bool top = c.path.find('/') == std::string::npos;
    if (top && (name == "WORKSPACE" || name == "WORKSPACE.bazel" || name == ".bazelrc" || name == ".bazelversion" ||
                name == ".cifs.toml" || name == "MODULE.bazel")) {
      return everything("it changes " + c.path);
    }
    if (name.size() > 4 && name.ends_with(".bzl")) return everything("it changes " + c.path + " (Starlark)");
    const auto& packages_of_side = c.kind == ChangedPath::Kind::kDeleted ? packages_before : packages_after;
    std::string pkg;
    if (IsBuildFile(name)) {
      auto slash = c.path.rfind('/');
      pkg = slash == std::string::npos ? "" : c.path.substr(0, slash);
    } else {
      auto found = PackageOf(c.path, packages_of_side);
      if (!found) return everything("it changes " + c.path + ", which is in no Bazel package");
      pkg = *found;
    }
    packages.insert(pkg);
    if (IsBuildFile(name) || c.kind != ChangedPath::Kind::kModified) {
      roots.insert("//" + pkg + ":all");
    } else {
      std::string rel = c.path.substr(pkg.empty() ? 0 : pkg.size() + 1);
      roots.insert("//" + pkg + ":" + rel);
    }
  }
  if (roots.size() > kMaxRoots) {
    if (packages.size() > kMaxRoots) return everything("it changes more than " + std::to_string(kMaxRoots) + " packages");
    roots.clear();
    for (const auto& p : packages) roots.insert("//" + p + ":all");
  }
  out.roots.assign(roots.begin(), roots.end());
  return out;
}

std::string AffectedQuery(const std::vector<std::string>& roots) {
  std::string set;
  for (const auto& r : roots) {
    if (!set.empty()) set += " ";
    // Quoted: a file name may hold characters the query lexer splits on.
    set += "\"" + r + "\"";
  }
  return "kind(rule, rdeps(//..., set(" + set + ")))";
}

std::vector<std::string> ParseQueryLabels(const std::string& output) {
  std::vector<std::string> labels;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 4 || !(line.starts_with("//") || line.starts_with("@")) ||
        line.find(':') == std::string::npos || line.find(' ') != std::string::npos) {
      continue;
    }
    labels.push_back(line);
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

bool Overlaps(const Footprint& a, const Footprint& b) {
  return a.everything || b.everything || Intersect(a.targets, b.targets) || Intersect(a.paths, b.paths);
}

}  // namespace cifs
