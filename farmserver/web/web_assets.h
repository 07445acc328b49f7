// The web UI's files (farmserver/web/assets), compiled into the binary.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace cifs {

// Path ("/app.js") -> contents.
const std::map<std::string, std::string_view>& WebAssets();

}  // namespace cifs
