// The action cache: action digest -> serialized ActionResult, per tier and
// instance name. A tier is a separate namespace of entries (who may read or
// write which tier is the farm's policy, not the store's); entries of one
// tier can be moved into another at once. Whether the outputs an entry names
// are still present is the service's job.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"

namespace cifs {

class ActionCache {
 public:
  virtual ~ActionCache() = default;
  // Tier and instance names never hold '\0'.
  [[nodiscard]] virtual Result<std::optional<std::string>> Get(const std::string& tier, const std::string& instance,
                                                               const Digest& action) = 0;
  // The entries of `action` in each of `tiers` (nullopt where there is
  // none), in that order: one look-up where the store can do it as one.
  [[nodiscard]] virtual Result<std::vector<std::optional<std::string>>> GetInTiers(
      const std::vector<std::string>& tiers, const std::string& instance, const Digest& action) {
    std::vector<std::optional<std::string>> out;
    for (const auto& tier : tiers) {
      auto entry = Get(tier, instance, action);
      if (!entry.ok()) return entry.status();
      out.push_back(std::move(*entry));
    }
    return out;
  }
  [[nodiscard]] virtual Status Put(const std::string& tier, const std::string& instance, const Digest& action,
                                   const std::string& result) = 0;
  // Moves every entry of `from` into `to` (replacing entries of `to` with the
  // same key) in one atomic write; `from` is empty afterwards. Returns how
  // many entries moved.
  [[nodiscard]] virtual Result<int64_t> MoveTier(const std::string& from, const std::string& to) = 0;
  // Deletes every entry of `tier`.
  [[nodiscard]] virtual Status DropTier(const std::string& tier) = 0;
};

}  // namespace cifs
