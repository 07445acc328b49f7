#include "common/names.h"

namespace cifs {

Status ValidateName(const char* what, const std::string& name) {
  const std::string kind(what);
  if (name.empty() || name.size() > 64) return Status::InvalidArgument(kind + " name must be 1 to 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return Status::InvalidArgument(kind + " name '" + name + "' may only hold a-z, 0-9, '-', '_' and '.'");
  }
  if (name[0] == '.' || name[0] == '-') return Status::InvalidArgument(kind + " name must not start with '.' or '-'");
  return Status::Ok();
}

}  // namespace cifs
