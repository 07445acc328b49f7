#include "farmserver/reapi/cas_service.h"

#include <charconv>
#include <deque>
#include <unordered_set>

#include "farmserver/reapi/limits.h"
#include "farmserver/reapi/resource_name.h"

namespace cifs {

namespace {

void SetStatus(google::rpc::Status* out, const Status& s) {
  out->set_code(static_cast<int>(s.code()));
  out->set_message(s.message());
}

}  // namespace

grpc::Status CapabilitiesService::GetCapabilities(grpc::ServerContext*, const re::GetCapabilitiesRequest*,
                                                  re::ServerCapabilities* resp) {
  auto* cache = resp->mutable_cache_capabilities();
  cache->add_digest_function(re::DigestFunction::SHA256);
  cache->mutable_action_cache_update_capabilities()->set_update_enabled(true);
  cache->set_max_batch_total_size_bytes(kMaxBatchBlobBytes);
  cache->set_symlink_absolute_path_strategy(re::SymlinkAbsolutePathStrategy::DISALLOWED);
  if (exec_enabled_) {
    auto* exec = resp->mutable_execution_capabilities();
    exec->set_digest_function(re::DigestFunction::SHA256);
    exec->set_exec_enabled(true);
  }
  resp->mutable_low_api_version()->set_major(2);
  resp->mutable_high_api_version()->set_major(2);
  resp->mutable_deprecated_api_version()->set_major(2);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* CasService::FindMissingBlobs(grpc::CallbackServerContext* ctx,
                                                       const re::FindMissingBlobsRequest* req,
                                                       re::FindMissingBlobsResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(FindMissing(req, resp));
  return reactor;
}

grpc::Status CasService::FindMissing(const re::FindMissingBlobsRequest* req, re::FindMissingBlobsResponse* resp) {
  std::vector<DigestRef> digests;
  digests.reserve(req->blob_digests_size());
  for (const auto& d : req->blob_digests()) {
    Status s = ValidateDigest(d.hash(), d.size_bytes());
    if (!s.ok()) return ToGrpc(s);
    digests.push_back({d.hash(), d.size_bytes()});
  }
  metrics_->cas_find_missing_calls++;
  metrics_->cas_find_missing_digests += static_cast<int64_t>(digests.size());
  auto missing = store_->FindMissing(digests);
  resp->mutable_missing_blob_digests()->Reserve(static_cast<int>(missing.size()));
  for (size_t i : missing) *resp->add_missing_blob_digests() = req->blob_digests(static_cast<int>(i));
  return grpc::Status::OK;
}

grpc::Status CasService::BatchUpdateBlobs(grpc::ServerContext* ctx, const re::BatchUpdateBlobsRequest* req,
                                          re::BatchUpdateBlobsResponse* resp) {
  for (const auto& r : req->requests()) {
    auto* out = resp->add_responses();
    *out->mutable_digest() = r.digest();
    auto digest = DigestFromProto(r.digest().hash(), r.digest().size_bytes());
    Status s = digest.ok() ? store_->Put(*digest, r.data()) : digest.status();
    if (s.ok()) {
      metrics_->cas_blobs_written++;
      metrics_->cas_bytes_written += static_cast<int64_t>(r.data().size());
    } else {
      metrics_->cas_writes_rejected++;
    }
    SetStatus(out->mutable_status(), s);
  }
  return grpc::Status::OK;
}

grpc::Status CasService::BatchReadBlobs(grpc::ServerContext* ctx, const re::BatchReadBlobsRequest* req,
                                        re::BatchReadBlobsResponse* resp) {
  int64_t total = 0;
  std::vector<Digest> digests;
  for (const auto& d : req->digests()) {
    auto digest = DigestFromProto(d.hash(), d.size_bytes());
    if (!digest.ok()) return ToGrpc(digest.status());
    total += digest->size;
    digests.push_back(std::move(*digest));
  }
  if (total > kMaxBatchBlobBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "BatchReadBlobs asks for " + std::to_string(total) + " bytes, more than the " +
                            std::to_string(kMaxBatchBlobBytes) + " a response may carry; use ByteStream.Read");
  }
  for (size_t i = 0; i < digests.size(); ++i) {
    auto* out = resp->add_responses();
    *out->mutable_digest() = req->digests(static_cast<int>(i));
    auto data = store_->Get(digests[i]);
    if (data.ok()) {
      metrics_->cas_bytes_read += static_cast<int64_t>(data->size());
      out->set_data(std::move(*data));
    }
    SetStatus(out->mutable_status(), data.status());
  }
  return grpc::Status::OK;
}

grpc::Status CasService::GetTree(grpc::ServerContext* ctx, const re::GetTreeRequest* req,
                                 grpc::ServerWriter<re::GetTreeResponse>* writer) {
  auto root = DigestFromProto(req->root_digest().hash(), req->root_digest().size_bytes());
  if (!root.ok()) return ToGrpc(root.status());
  // The page token is the number of directories already returned in
  // breadth-first order; resuming re-walks the tree up to that point.
  int64_t skip = 0;
  if (!req->page_token().empty()) {
    const std::string& t = req->page_token();
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), skip);
    if (ec != std::errc() || p != t.data() + t.size() || skip < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed page_token");
    }
  }
  const int64_t page_limit = req->page_size() > 0 ? req->page_size() : INT64_MAX;
  std::deque<Digest> queue{*root};
  std::unordered_set<Digest, DigestHash> seen{*root};
  re::GetTreeResponse page;
  int64_t page_bytes = 0;
  int64_t index = 0;
  while (!queue.empty()) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    Digest d = queue.front();
    queue.pop_front();
    auto data = store_->Get(d);
    if (!data.ok()) {
      if (index == 0) return grpc::Status(grpc::StatusCode::NOT_FOUND, "root directory " + d.ToString() + " not found");
      continue;  // the spec: omit missing subtrees
    }
    re::Directory dir;
    if (!dir.ParseFromString(*data)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "blob " + d.ToString() + " is not a Directory");
    }
    for (const auto& child : dir.directories()) {
      auto cd = DigestFromProto(child.digest().hash(), child.digest().size_bytes());
      if (cd.ok() && seen.insert(*cd).second) queue.push_back(*cd);
    }
    if (index++ < skip) continue;
    int64_t size = static_cast<int64_t>(data->size()) + 16;
    if (page.directories_size() > 0 &&
        (page_bytes + size > kMaxBatchBlobBytes || page.directories_size() >= page_limit)) {
      page.set_next_page_token(std::to_string(index - 1));
      if (!writer->Write(page)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      page.Clear();
      page_bytes = 0;
    }
    *page.add_directories() = std::move(dir);
    page_bytes += size;
  }
  writer->Write(page);
  return grpc::Status::OK;
}

}  // namespace cifs
