// What each writer of the farm's action cache may write and read, and the
// credentials of the builds the farm is running right now.
//
// Tiers (docs/security.md):
//   trusted            decides verdicts; written by the farm's builds of a
//                      target branch's tip (code that is on the branch),
//                      and by moving a landed PR's validation entries into it
//   user/NAME          everything NAME controls: their local Bazel and their
//                      farm builds; read back only by NAME's builds
//   validation/BUILD   what validation BUILD wrote; moved to trusted when the
//                      validated merge lands, dropped when it fails
// A developer reads trusted and their own tier; a validation reads trusted
// only, so no result a developer wrote ever makes a validation green.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cifs {

inline constexpr char kTrustedTier[] = "trusted";
inline std::string UserTier(const std::string& user) { return "user/" + user; }
inline std::string ValidationTier(const std::string& build_id) { return "validation/" + build_id; }

struct CacheScope {
  std::string write;
  std::vector<std::string> read;  // in this order; the first hit wins
};

// A user's own Bazel (certificate CN = user).
inline CacheScope UserCacheScope(const std::string& user) { return {UserTier(user), {kTrustedTier, UserTier(user)}}; }

enum class BuildKind {
  kWorkspace,   // a developer's tree, built for `user`
  kValidation,  // a PR's proposed merge on the farm's own checkout
  kAnalysis,    // `bazel query` of a PR's proposed merge (what it affects)
  kBaseline,    // a target branch's tip on the farm's own checkout
  kBatch,       // the merge queue's chain of approved PRs on the tip
};

// A farm build writes what the developer controls into their own tier; a
// validation reads trusted only and writes a tier of its own; the tip of a
// target branch is what the gate already let in, so its results are trusted.
// A batch tests only code a lead approved, about to land as one: it also
// reads `also_read`, its PRs' own validation tiers (never a tier of a
// revision nobody approved).
inline CacheScope BuildCacheScope(BuildKind kind, const std::string& user, const std::string& build_id,
                                  const std::vector<std::string>& also_read = {}) {
  switch (kind) {
    case BuildKind::kValidation:
    case BuildKind::kAnalysis: return {ValidationTier(build_id), {kTrustedTier}};
    case BuildKind::kBatch: {
      CacheScope scope{ValidationTier(build_id), {kTrustedTier}};
      scope.read.insert(scope.read.end(), also_read.begin(), also_read.end());
      return scope;
    }
    case BuildKind::kBaseline: return {kTrustedTier, {kTrustedTier}};
    case BuildKind::kWorkspace: break;
  }
  return UserCacheScope(user);
}

// One running farm build's credential: a client certificate whose CN is the
// build's id, valid only while the build is registered here.
struct BuildScope {
  std::string build_id;
  std::string user;  // who asked for it (the PR's author for validations)
  CacheScope cache;
};

class BuildScopes {
 public:
  void Add(BuildScope scope) {
    std::lock_guard lock(mu_);
    scopes_[scope.build_id] = std::move(scope);
  }
  void Remove(const std::string& build_id) {
    std::lock_guard lock(mu_);
    scopes_.erase(build_id);
  }
  std::optional<BuildScope> Find(const std::string& build_id) const {
    std::lock_guard lock(mu_);
    auto it = scopes_.find(build_id);
    if (it == scopes_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, BuildScope> scopes_;
};

}  // namespace cifs
