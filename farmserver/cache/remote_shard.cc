#include "farmserver/cache/remote_shard.h"

#include "common/clock.h"

namespace cifs {

namespace {

// How long a node that failed is skipped before it is tried again.
constexpr int64_t kDownForMs = 3000;
constexpr auto kCallTimeout = std::chrono::seconds(10);
// An upload of a large blob streams for as long as it takes.
constexpr auto kWriteTimeout = std::chrono::seconds(600);
constexpr int64_t kReadChunk = 1 << 20;

void SetDigest(const Digest& d, v1::ShardDigest* out) {
  out->set_hash(d.hash);
  out->set_size(d.size);
}

// Streams a blob to the owner: the first message names the digest, the
// owner verifies the bytes before it stores them.
class RemoteBlobWriter final : public BlobWriter {
 public:
  RemoteBlobWriter(RemoteShard* shard, Digest digest) : shard_(shard), digest_(std::move(digest)) {
    shard_->Deadline(&ctx_, kWriteTimeout);
    stream_ = shard_->stub()->WriteBlob(&ctx_, &resp_);
  }
  ~RemoteBlobWriter() override {
    if (!finished_) {
      ctx_.TryCancel();
      grpc::Status ignored = stream_->Finish();
      (void)ignored;  // cancelled on purpose: nothing is stored
    }
  }

  Status Append(std::string_view data) override {
    if (broken_) return Status::Ok();  // Commit reports why
    v1::ShardWriteBlobRequest req;
    if (written_ == 0 && !sent_first_) SetDigest(digest_, req.mutable_digest());
    sent_first_ = true;
    req.set_data(std::string(data));
    if (!stream_->Write(req)) broken_ = true;  // the owner ended the stream
    written_ += static_cast<int64_t>(data.size());
    return Status::Ok();
  }

  int64_t bytes_written() const override { return written_; }

  Status Commit() override {
    if (!sent_first_) {
      v1::ShardWriteBlobRequest req;
      SetDigest(digest_, req.mutable_digest());
      sent_first_ = stream_->Write(req);
    }
    if (!broken_) stream_->WritesDone();
    grpc::Status s = stream_->Finish();
    finished_ = true;
    if (!s.ok()) return shard_->Failed(s);
    return Status::Ok();
  }

 private:
  RemoteShard* shard_;
  Digest digest_;
  grpc::ClientContext ctx_;
  v1::ShardWriteBlobResponse resp_;
  std::unique_ptr<grpc::ClientWriter<v1::ShardWriteBlobRequest>> stream_;
  int64_t written_ = 0;
  bool sent_first_ = false;
  bool broken_ = false;
  bool finished_ = false;
};

// Fetches a blob range by range; the first range was read when it opened.
class RemoteBlobReader final : public BlobReader {
 public:
  RemoteBlobReader(RemoteShard* shard, Digest digest, std::string first)
      : shard_(shard), digest_(std::move(digest)), first_(std::move(first)) {}

  int64_t size() const override { return digest_.size; }

  Status Read(int64_t offset, size_t max_bytes, std::string* out) override {
    if (offset < 0 || offset > digest_.size) return Status::OutOfRange("read past the end of the blob");
    int64_t want = std::min<int64_t>({static_cast<int64_t>(max_bytes), digest_.size - offset, kReadChunk});
    if (want == 0) return Status::Ok();
    if (offset + want <= static_cast<int64_t>(first_.size())) {
      out->append(first_, static_cast<size_t>(offset), static_cast<size_t>(want));
      return Status::Ok();
    }
    auto data = shard_->ReadRange(digest_, offset, want);
    if (!data.ok()) return data.status();
    out->append(*data);
    return Status::Ok();
  }

 private:
  RemoteShard* shard_;
  Digest digest_;
  std::string first_;
};

}  // namespace

RemoteShard::RemoteShard(std::string name, const std::string& address, const PeerCredentials& creds)
    : name_(std::move(name)) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = creds.ca_pem;
  tls.pem_cert_chain = creds.cert_pem;
  tls.pem_private_key = creds.key_pem;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  // A node that restarts must be reachable again within seconds, not after
  // gRPC's default reconnect backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  stub_ = v1::CacheShard::NewStub(grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args));
}

bool RemoteShard::Available() const { return NowMs() >= down_until_ms_.load(std::memory_order_relaxed); }

void RemoteShard::Deadline(grpc::ClientContext* ctx, std::chrono::seconds within) const {
  ctx->set_deadline(std::chrono::system_clock::now() + within);
}

Status RemoteShard::Failed(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      // Unreachable, or the peer does not take our certificate: either way
      // the cluster is better served by the next shard for a while.
      down_until_ms_.store(NowMs() + kDownForMs, std::memory_order_relaxed);
      return Status::Unavailable("cache shard " + name_ + ": " + s.error_message());
    default:
      return Status(static_cast<Status::Code>(s.error_code()), "cache shard " + name_ + ": " + s.error_message());
  }
}

Status RemoteShard::Down() const { return Status::Unavailable("cache shard " + name_ + " is down"); }

Status RemoteShard::Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallTimeout);
  grpc::Status s = rpc(&ctx);
  return s.ok() ? Status::Ok() : Failed(s);
}

std::vector<size_t> RemoteShard::FindMissing(const std::vector<DigestRef>& digests) {
  std::vector<size_t> all(digests.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (digests.empty() || !Available()) return all;
  v1::ShardFindMissingRequest req;
  for (const auto& d : digests) {
    auto* out = req.add_digests();
    out->set_hash(std::string(d.hash));
    out->set_size(d.size);
  }
  v1::ShardFindMissingResponse resp;
  if (!Call([&](grpc::ClientContext* ctx) { return stub_->FindMissing(ctx, req, &resp); }).ok()) {
    return all;  // a shard that does not answer holds nothing
  }
  std::vector<size_t> missing;
  for (int32_t m : resp.missing()) {
    if (m >= 0 && static_cast<size_t>(m) < digests.size()) missing.push_back(static_cast<size_t>(m));
  }
  return missing;
}

bool RemoteShard::Contains(const Digest& digest) {
  return FindMissing(std::vector<DigestRef>{{digest.hash, digest.size}}).empty();
}

Result<std::string> RemoteShard::ReadRange(const Digest& digest, int64_t offset, int64_t limit) {
  if (!Available()) return Status::NotFound("blob " + digest.ToString() + " not found (cache shard " + name_ + " is down)");
  v1::ShardReadBlobRequest req;
  SetDigest(digest, req.mutable_digest());
  req.set_offset(offset);
  req.set_limit(limit);
  v1::ShardReadBlobResponse resp;
  Status s = Call([&](grpc::ClientContext* ctx) { return stub_->ReadBlob(ctx, req, &resp); });
  // A shard that went away mid-read: the blob is missing, as for a miss.
  if (s.code() == Status::Code::kUnavailable) return Status::NotFound(s.message());
  if (!s.ok()) return s;
  return std::move(*resp.mutable_data());
}

Result<std::string> RemoteShard::Get(const Digest& digest) {
  std::string data;
  for (int64_t offset = 0; offset < digest.size || offset == 0;) {
    auto part = ReadRange(digest, offset, std::min(kReadChunk, digest.size - offset));
    if (!part.ok()) return part.status();
    if (part->empty()) break;
    offset += static_cast<int64_t>(part->size());
    data += *part;
  }
  return data;
}

Status RemoteShard::Put(const Digest& digest, std::string_view data) {
  auto writer = OpenWrite(digest);
  if (!writer.ok()) return writer.status();
  CIFS_RETURN_IF_ERROR((*writer)->Append(data));
  return (*writer)->Commit();
}

Result<std::unique_ptr<BlobReader>> RemoteShard::OpenRead(const Digest& digest) {
  auto first = ReadRange(digest, 0, std::min(kReadChunk, digest.size));
  if (!first.ok()) return first.status();
  return std::unique_ptr<BlobReader>(std::make_unique<RemoteBlobReader>(this, digest, std::move(*first)));
}

Result<std::unique_ptr<BlobWriter>> RemoteShard::OpenWrite(const Digest& digest) {
  // No existence check first: callers ask FindMissing before uploading, and
  // the owner ends the stream at once when it holds the blob already.
  if (!Available()) return Down();
  return std::unique_ptr<BlobWriter>(std::make_unique<RemoteBlobWriter>(this, digest));
}

Status RemoteShard::Pin(const Digest&) {
  return Status::Unimplemented("blobs are pinned in their workspace's node, not in another node's shard");
}

Status RemoteShard::Unpin(const Digest& digest) { return Pin(digest); }

Result<std::optional<std::string>> RemoteShard::Get(const std::string& tier, const std::string& instance,
                                                    const Digest& action) {
  auto entries = GetInTiers({tier}, instance, action);
  if (!entries.ok()) return entries.status();
  return std::move(entries->front());
}

Result<std::vector<std::optional<std::string>>> RemoteShard::GetInTiers(const std::vector<std::string>& tiers,
                                                                        const std::string& instance,
                                                                        const Digest& action) {
  std::vector<std::optional<std::string>> out(tiers.size());
  if (!Available()) return out;
  v1::ShardGetActionRequest req;
  for (const auto& t : tiers) req.add_tiers(t);
  req.set_instance(instance);
  SetDigest(action, req.mutable_action());
  v1::ShardGetActionResponse resp;
  Status s = Call([&](grpc::ClientContext* ctx) { return stub_->GetAction(ctx, req, &resp); });
  if (s.code() == Status::Code::kUnavailable) return out;  // misses
  if (!s.ok()) return s;
  if (resp.entries_size() != static_cast<int>(tiers.size())) {
    return Status::Internal("cache shard " + name_ + " answered " + std::to_string(resp.entries_size()) +
                            " entries for " + std::to_string(tiers.size()) + " tiers");
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    auto* e = resp.mutable_entries(static_cast<int>(i));
    if (e->found()) out[i] = std::move(*e->mutable_result());
  }
  return out;
}

Status RemoteShard::Put(const std::string& tier, const std::string& instance, const Digest& action,
                        const std::string& result) {
  if (!Available()) return Down();
  v1::ShardPutActionRequest req;
  req.mutable_key()->set_tier(tier);
  req.mutable_key()->set_instance(instance);
  SetDigest(action, req.mutable_key()->mutable_action());
  req.set_result(result);
  v1::ShardPutActionResponse resp;
  return Call([&](grpc::ClientContext* ctx) { return stub_->PutAction(ctx, req, &resp); });
}

Result<int64_t> RemoteShard::MoveTier(const std::string& from, const std::string& to) {
  if (!Available()) return Down();
  v1::ShardMoveTierRequest req;
  req.set_from(from);
  req.set_to(to);
  v1::ShardMoveTierResponse resp;
  CIFS_RETURN_IF_ERROR(Call([&](grpc::ClientContext* ctx) { return stub_->MoveTier(ctx, req, &resp); }));
  return resp.moved();
}

Status RemoteShard::DropTier(const std::string& tier) {
  if (!Available()) return Down();
  v1::ShardDropTierRequest req;
  req.set_tier(tier);
  v1::ShardDropTierResponse resp;
  return Call([&](grpc::ClientContext* ctx) { return stub_->DropTier(ctx, req, &resp); });
}

}  // namespace cifs
