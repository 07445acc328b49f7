#include "farmserver/reapi/resource_name.h"

#include <charconv>
#include <vector>

namespace cifs {

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    parts.push_back(s.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, size_t end) {
  std::string out;
  for (size_t i = 0; i < end; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

Result<Digest> ParseDigest(const std::string& hash, const std::string& size_text, const std::string& name) {
  int64_t size = -1;
  auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  if (ec != std::errc() || p != size_text.data() + size_text.size() || size_text.empty()) {
    return Status::InvalidArgument("malformed resource name '" + name + "': size is not a number");
  }
  Status s = ValidateDigest(hash, size);
  if (!s.ok()) return Status::InvalidArgument("malformed resource name '" + name + "': " + s.message());
  return Digest{hash, size};
}

Status CheckInstance(const std::vector<std::string>& parts, size_t end, const std::string& name) {
  for (size_t i = 0; i < end; ++i) {
    const std::string& p = parts[i];
    if (p.empty() || p == "." || p == ".." || p == "blobs" || p == "uploads" || p == "actions" ||
        p == "operations" || p == "compressed-blobs" || p == "actionResults") {
      return Status::InvalidArgument("malformed resource name '" + name + "': bad instance name segment");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Digest> DigestFromProto(const std::string& hash, int64_t size) {
  Status s = ValidateDigest(hash, size);
  if (!s.ok()) return s;
  return Digest{hash, size};
}

Result<ReadResource> ParseReadResource(const std::string& name) {
  auto parts = Split(name);
  if (parts.size() < 3 || parts[parts.size() - 3] != "blobs") {
    return Status::InvalidArgument("malformed resource name '" + name + "': expected [instance/]blobs/HASH/SIZE");
  }
  size_t b = parts.size() - 3;
  CIFS_RETURN_IF_ERROR(CheckInstance(parts, b, name));
  auto d = ParseDigest(parts[b + 1], parts[b + 2], name);
  if (!d.ok()) return d.status();
  return ReadResource{Join(parts, b), *d};
}

Result<WriteResource> ParseWriteResource(const std::string& name) {
  auto parts = Split(name);
  // The first "uploads" segment followed by uuid/blobs/hash/size.
  for (size_t u = 0; u + 4 < parts.size(); ++u) {
    if (parts[u] != "uploads" || parts[u + 2] != "blobs") continue;
    CIFS_RETURN_IF_ERROR(CheckInstance(parts, u, name));
    if (parts[u + 1].empty() || parts[u + 1].size() > 128) {
      return Status::InvalidArgument("malformed resource name '" + name + "': bad upload id");
    }
    auto d = ParseDigest(parts[u + 3], parts[u + 4], name);
    if (!d.ok()) return d.status();
    return WriteResource{Join(parts, u), parts[u + 1], *d};
  }
  return Status::InvalidArgument("malformed resource name '" + name +
                                 "': expected [instance/]uploads/UUID/blobs/HASH/SIZE");
}

}  // namespace cifs
