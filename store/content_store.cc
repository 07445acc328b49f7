#include "store/content_store.h"

namespace cifs {

Result<std::string> GetByStreaming(ContentStore& store, const Digest& digest) {
  auto reader = store.OpenRead(digest);
  if (!reader.ok()) return reader.status();
  std::string out;
  out.reserve(static_cast<size_t>(digest.size));
  CIFS_RETURN_IF_ERROR((*reader)->Read(0, static_cast<size_t>(digest.size), &out));
  return out;
}

Status PutByStreaming(ContentStore& store, const Digest& digest, std::string_view data) {
  auto writer = store.OpenWrite(digest);
  if (!writer.ok()) {
    if (writer.status().code() == Status::Code::kAlreadyExists) {
      // Still refuse bytes that do not match: the caller's claim is wrong.
      if (ComputeDigest(data) != digest) return Status::InvalidArgument("blob content does not match its digest");
      return Status::Ok();
    }
    return writer.status();
  }
  CIFS_RETURN_IF_ERROR((*writer)->Append(data));
  return (*writer)->Commit();
}

}  // namespace cifs
