// Text from outside (file contents, git paths) that must travel as UTF-8:
// protobuf `string` fields and JSON refuse anything else.
#pragma once

#include <string>
#include <string_view>

namespace cifs {

// `in` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD; valid text comes back unchanged.
std::string ValidUtf8(std::string_view in);

}  // namespace cifs
