// Sizes as people write them in flags and config: 1024, 512M, 10GiB.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cifs {

Result<int64_t> ParseByteSize(const std::string& text);
// For people: "812 B", "4.0 KiB", "1.2 GiB".
std::string FormatByteSize(int64_t bytes);

}  // namespace cifs
