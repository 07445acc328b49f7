#include "worker/cas_client.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/files.h"
#include "common/random_hex.h"
#include "common/unique_fd.h"

namespace cifs {

namespace {

// Under gRPC's 4 MiB message limit with room for framing.
constexpr int64_t kBatchBytes = 3 << 20;
constexpr size_t kChunkBytes = 1 << 20;

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return Status::NotFound(what + ": " + s.error_message());
  return Status::Unavailable(what + ": " + s.error_message());
}

void ToProto(const Digest& d, re::Digest* out) {
  out->set_hash(d.hash);
  out->set_size_bytes(d.size);
}

}  // namespace

CasClient::CasClient(std::shared_ptr<grpc::Channel> channel)
    : cas_(re::ContentAddressableStorage::NewStub(channel)),
      bytestream_(google::bytestream::ByteStream::NewStub(channel)) {}

Result<std::vector<Digest>> CasClient::FindMissing(const std::vector<Digest>& digests) {
  std::vector<Digest> missing;
  for (size_t start = 0; start < digests.size(); start += 10000) {
    re::FindMissingBlobsRequest req;
    for (size_t i = start; i < std::min(digests.size(), start + 10000); ++i) ToProto(digests[i], req.add_blob_digests());
    re::FindMissingBlobsResponse resp;
    grpc::ClientContext ctx;
    CIFS_RETURN_IF_ERROR(FromGrpc(cas_->FindMissingBlobs(&ctx, req, &resp), "FindMissingBlobs"));
    for (const auto& d : resp.missing_blob_digests()) missing.push_back({d.hash(), d.size_bytes()});
  }
  return missing;
}

Status CasClient::Fetch(const std::vector<Digest>& want, const std::function<Status(const Digest&, std::string)>& sink,
                        std::vector<Digest>* missing) {
  re::BatchReadBlobsRequest batch;
  int64_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    if (batch.digests_size() == 0) return Status::Ok();
    re::BatchReadBlobsResponse resp;
    grpc::ClientContext ctx;
    CIFS_RETURN_IF_ERROR(FromGrpc(cas_->BatchReadBlobs(&ctx, batch, &resp), "BatchReadBlobs"));
    for (auto& r : *resp.mutable_responses()) {
      Digest d{r.digest().hash(), r.digest().size_bytes()};
      if (r.status().code() == grpc::StatusCode::NOT_FOUND) {
        missing->push_back(d);
        continue;
      }
      if (r.status().code() != 0) return Status::Unavailable("reading " + d.ToString() + ": " + r.status().message());
      CIFS_RETURN_IF_ERROR(sink(d, std::move(*r.mutable_data())));
    }
    batch.Clear();
    batch_bytes = 0;
    return Status::Ok();
  };
  for (const auto& d : want) {
    if (d.size > kBatchBytes) {
      std::string data;
      Status s = ReadLarge(d, &data);
      if (s.code() == Status::Code::kNotFound) {
        missing->push_back(d);
        continue;
      }
      CIFS_RETURN_IF_ERROR(s);
      CIFS_RETURN_IF_ERROR(sink(d, std::move(data)));
      continue;
    }
    if (batch_bytes + d.size > kBatchBytes) CIFS_RETURN_IF_ERROR(flush());
    ToProto(d, batch.add_digests());
    batch_bytes += d.size;
  }
  CIFS_RETURN_IF_ERROR(flush());
  if (!missing->empty()) return Status::NotFound("blob " + missing->front().ToString() + " is not in the CAS");
  return Status::Ok();
}

Status CasClient::ReadLarge(const Digest& d, std::string* out) {
  google::bytestream::ReadRequest req;
  req.set_resource_name("blobs/" + d.hash + "/" + std::to_string(d.size));
  grpc::ClientContext ctx;
  auto reader = bytestream_->Read(&ctx, req);
  google::bytestream::ReadResponse chunk;
  out->clear();
  out->reserve(static_cast<size_t>(d.size));
  while (reader->Read(&chunk)) out->append(chunk.data());
  CIFS_RETURN_IF_ERROR(FromGrpc(reader->Finish(), "reading " + d.ToString()));
  if (static_cast<int64_t>(out->size()) != d.size) return Status::Unavailable("short read of " + d.ToString());
  return Status::Ok();
}

Status CasClient::Upload(const std::vector<UploadBlob>& blobs) {
  std::vector<Digest> digests;
  for (const auto& b : blobs) digests.push_back(b.digest);
  auto missing = FindMissing(digests);
  if (!missing.ok()) return missing.status();
  std::vector<const UploadBlob*> todo;
  for (const auto& b : blobs) {
    for (const auto& m : *missing) {
      if (m == b.digest) {
        todo.push_back(&b);
        break;
      }
    }
  }
  re::BatchUpdateBlobsRequest batch;
  int64_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    if (batch.requests_size() == 0) return Status::Ok();
    re::BatchUpdateBlobsResponse resp;
    grpc::ClientContext ctx;
    CIFS_RETURN_IF_ERROR(FromGrpc(cas_->BatchUpdateBlobs(&ctx, batch, &resp), "BatchUpdateBlobs"));
    for (const auto& r : resp.responses()) {
      if (r.status().code() != 0) {
        return Status::Unavailable("storing " + r.digest().hash() + ": " + r.status().message());
      }
    }
    batch.Clear();
    batch_bytes = 0;
    return Status::Ok();
  };
  for (const UploadBlob* b : todo) {
    if (b->digest.size > kBatchBytes) {
      CIFS_RETURN_IF_ERROR(WriteLarge(*b));
      continue;
    }
    if (batch_bytes + b->digest.size > kBatchBytes) CIFS_RETURN_IF_ERROR(flush());
    auto* r = batch.add_requests();
    ToProto(b->digest, r->mutable_digest());
    if (b->path.empty()) {
      r->set_data(b->data);
    } else {
      auto data = ReadFile(b->path);
      if (!data.ok()) return data.status();
      r->set_data(std::move(*data));
    }
    batch_bytes += b->digest.size;
  }
  return flush();
}

Status CasClient::WriteLarge(const UploadBlob& blob) {
  auto id = RandomHex(16);
  if (!id) return Status::Internal("no randomness for an upload name");
  UniqueFd fd;
  if (!blob.path.empty()) {
    fd = UniqueFd(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return Status::Internal("cannot read output " + blob.path);
  }
  grpc::ClientContext ctx;
  google::bytestream::WriteResponse resp;
  auto writer = bytestream_->Write(&ctx, &resp);
  std::string chunk(kChunkBytes, '\0');
  int64_t offset = 0;
  while (offset < blob.digest.size) {
    google::bytestream::WriteRequest req;
    if (offset == 0) {
      req.set_resource_name("uploads/" + *id + "/blobs/" + blob.digest.hash + "/" + std::to_string(blob.digest.size));
    }
    size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(kChunkBytes), blob.digest.size - offset));
    if (fd.valid()) {
      ssize_t got = PreadFull(fd.get(), chunk.data(), n, offset);
      if (got != static_cast<ssize_t>(n)) return Status::Internal("cannot read output " + blob.path);
      req.set_data(chunk.data(), n);
    } else {
      req.set_data(blob.data.substr(static_cast<size_t>(offset), n));
    }
    req.set_write_offset(offset);
    offset += static_cast<int64_t>(n);
    req.set_finish_write(offset == blob.digest.size);
    if (!writer->Write(req)) break;
  }
  writer->WritesDone();
  return FromGrpc(writer->Finish(), "uploading " + blob.digest.ToString());
}

}  // namespace cifs
