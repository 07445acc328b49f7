// Standard base64 (RFC 4648, padded), as HTTP headers and JSON carry bytes.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cifs {

std::string Base64Encode(std::string_view in);
// InvalidArgument for anything but padded standard base64.
Result<std::string> Base64Decode(std::string_view in);

}  // namespace cifs
