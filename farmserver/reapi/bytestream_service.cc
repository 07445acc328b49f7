#include "farmserver/reapi/bytestream_service.h"

#include "farmserver/reapi/limits.h"
#include "farmserver/reapi/resource_name.h"

namespace cifs {

namespace bs = google::bytestream;

namespace {
// An interrupted upload is kept this long for the client to resume it.
constexpr auto kUploadIdleTimeout = std::chrono::minutes(10);

std::string UploadKey(const WriteResource& r) { return r.instance + "/" + r.uuid + "/" + r.digest.ToString(); }
}  // namespace

grpc::Status ByteStreamService::Read(grpc::ServerContext* ctx, const bs::ReadRequest* req,
                                     grpc::ServerWriter<bs::ReadResponse>* writer) {
  auto res = ParseReadResource(req->resource_name());
  if (!res.ok()) return ToGrpc(res.status());
  if (req->read_offset() < 0 || req->read_offset() > res->digest.size) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "read_offset " + std::to_string(req->read_offset()) +
                                                            " is outside the blob of " +
                                                            std::to_string(res->digest.size) + " bytes");
  }
  if (req->read_limit() < 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative read_limit");
  auto reader = store_->OpenRead(res->digest);
  if (!reader.ok()) return ToGrpc(reader.status());
  int64_t offset = req->read_offset();
  int64_t end = res->digest.size;
  if (req->read_limit() > 0) end = std::min(end, offset + req->read_limit());
  bs::ReadResponse resp;
  while (offset < end) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
    std::string* data = resp.mutable_data();
    data->clear();
    size_t want = static_cast<size_t>(std::min<int64_t>(kReadChunkBytes, end - offset));
    Status s = (*reader)->Read(offset, want, data);
    if (!s.ok()) return ToGrpc(s);
    if (data->empty()) return grpc::Status(grpc::StatusCode::DATA_LOSS, "blob ended early");
    offset += static_cast<int64_t>(data->size());
    metrics_->cas_bytes_read += static_cast<int64_t>(data->size());
    if (!writer->Write(resp)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  return grpc::Status::OK;
}

void ByteStreamService::ExpireIdleUploadsLocked() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    std::unique_lock ul(it->second->mu, std::try_to_lock);
    if (ul.owns_lock() && now - it->second->last_used > kUploadIdleTimeout) {
      ul.unlock();
      it = uploads_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<ByteStreamService::Upload> ByteStreamService::FindOrCreateUpload(const std::string& key,
                                                                                 const std::string& owner,
                                                                                 bool* created) {
  std::lock_guard lock(mu_);
  ExpireIdleUploadsLocked();
  auto& slot = uploads_[key];
  *created = !slot;
  if (!slot) {
    slot = std::make_shared<Upload>();
    slot->owner = owner;
  }
  slot->last_used = std::chrono::steady_clock::now();
  return slot;
}

void ByteStreamService::DropUpload(const std::string& key) {
  std::lock_guard lock(mu_);
  uploads_.erase(key);
}

grpc::Status ByteStreamService::Write(grpc::ServerContext* ctx, grpc::ServerReader<bs::WriteRequest>* reader,
                                      bs::WriteResponse* resp) {
  auto id = auth_->FromContextForCas(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  bs::WriteRequest req;
  if (!reader->Read(&req)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty write stream");
  auto res = ParseWriteResource(req.resource_name());
  if (!res.ok()) {
    metrics_->cas_writes_rejected++;
    return ToGrpc(res.status());
  }
  const std::string key = UploadKey(*res);

  if (store_->Contains(res->digest)) {
    // Already stored (by anyone): the upload is complete without more bytes.
    resp->set_committed_size(res->digest.size);
    return grpc::Status::OK;
  }

  bool created = false;
  auto upload = FindOrCreateUpload(key, id->name, &created);
  std::unique_lock ul(upload->mu);
  if (upload->owner != id->name) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "upload " + res->uuid + " belongs to another user");
  }
  if (upload->complete) {
    resp->set_committed_size(res->digest.size);
    return grpc::Status::OK;
  }
  if (!upload->writer) {
    auto w = store_->OpenWrite(res->digest);
    if (!w.ok()) {
      if (w.status().code() == Status::Code::kAlreadyExists) {
        resp->set_committed_size(res->digest.size);
        return grpc::Status::OK;
      }
      DropUpload(key);
      return ToGrpc(w.status());
    }
    upload->writer = std::move(*w);
  }
  BlobWriter* w = upload->writer.get();

  auto fail = [&](grpc::StatusCode code, const std::string& msg) {
    metrics_->cas_writes_rejected++;
    ul.unlock();
    DropUpload(key);  // destroying the writer discards what it stored
    return grpc::Status(code, msg);
  };

  while (true) {
    if (req.write_offset() != w->bytes_written()) {
      return fail(grpc::StatusCode::INVALID_ARGUMENT,
                  "write_offset " + std::to_string(req.write_offset()) + " does not continue the upload at " +
                      std::to_string(w->bytes_written()));
    }
    Status s = w->Append(req.data());
    if (!s.ok()) return fail(grpc::StatusCode::INVALID_ARGUMENT, s.message());
    metrics_->cas_bytes_written += static_cast<int64_t>(req.data().size());
    upload->last_used = std::chrono::steady_clock::now();
    if (req.finish_write()) {
      Status c = w->Commit();
      if (!c.ok()) return fail(static_cast<grpc::StatusCode>(c.code()), c.message());
      metrics_->cas_blobs_written++;
      upload->complete = true;
      resp->set_committed_size(w->bytes_written());
      ul.unlock();
      DropUpload(key);
      return grpc::Status::OK;
    }
    if (!reader->Read(&req)) break;
    if (!req.resource_name().empty()) {
      auto again = ParseWriteResource(req.resource_name());
      if (!again.ok() || UploadKey(*again) != key) {
        return fail(grpc::StatusCode::INVALID_ARGUMENT, "resource_name changed in the middle of a write");
      }
    }
  }
  // The client stopped without finish_write: keep the upload for a resume.
  if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled the write");
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "write stream ended without finish_write at " + std::to_string(w->bytes_written()) +
                          " bytes; resume from there");
}

grpc::Status ByteStreamService::QueryWriteStatus(grpc::ServerContext* ctx, const bs::QueryWriteStatusRequest* req,
                                                 bs::QueryWriteStatusResponse* resp) {
  auto res = ParseWriteResource(req->resource_name());
  if (!res.ok()) return ToGrpc(res.status());
  if (store_->Contains(res->digest)) {
    resp->set_committed_size(res->digest.size);
    resp->set_complete(true);
    return grpc::Status::OK;
  }
  std::shared_ptr<Upload> upload;
  {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(UploadKey(*res));
    if (it != uploads_.end()) upload = it->second;
  }
  if (!upload) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no upload in progress for " + req->resource_name());
  std::unique_lock ul(upload->mu, std::try_to_lock);
  if (!ul.owns_lock()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "upload is being written right now; ask again");
  }
  resp->set_committed_size(upload->writer ? upload->writer->bytes_written() : 0);
  resp->set_complete(upload->complete);
  return grpc::Status::OK;
}

}  // namespace cifs
