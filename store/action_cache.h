// The action cache: action digest -> serialized ActionResult, per instance name.
// Whether the outputs an entry names are still present is the service's job.
#pragma once

#include <optional>
#include <string>

#include "common/digest.h"
#include "common/status.h"

namespace cifs {

class ActionCache {
 public:
  virtual ~ActionCache() = default;
  virtual Result<std::optional<std::string>> Get(const std::string& instance, const Digest& action) = 0;
  virtual Status Put(const std::string& instance, const Digest& action, const std::string& result) = 0;
};

}  // namespace cifs
