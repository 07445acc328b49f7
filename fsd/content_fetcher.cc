#include "fsd/content_fetcher.h"
#include "farmclient/routing.h"

#include <cerrno>

namespace cifs {
namespace {

// A large file's stream may take longer than one call's timeout.
constexpr int64_t kStreamBytesPerSecond = 20 << 20;

}  // namespace

std::vector<ContentWant> ContentFetcher::Claim(const std::vector<ContentWant>& wants) {
  std::vector<ContentWant> mine;
  std::lock_guard lock(inflight_mu_);
  for (const auto& w : wants) {
    if (inflight_.emplace(w.hash, std::make_shared<InFlight>()).second) mine.push_back(w);
  }
  return mine;
}

void ContentFetcher::Release(const std::vector<ContentWant>& claimed) {
  std::lock_guard lock(inflight_mu_);
  for (const auto& w : claimed) {
    auto it = inflight_.find(w.hash);
    if (it == inflight_.end()) continue;
    it->second->done = true;
    it->second->cv.notify_all();
    inflight_.erase(it);
  }
}

bool ContentFetcher::AwaitInFlight(const std::string& hash) {
  std::unique_lock lock(inflight_mu_);
  auto it = inflight_.find(hash);
  if (it == inflight_.end()) return false;
  std::shared_ptr<InFlight> f = it->second;
  // Its fetcher gives up within the farm's timeout; so does this wait.
  f->cv.wait_for(lock, farm_->timeout() + std::chrono::seconds(1), [&] { return f->done; });
  return true;
}

int ContentFetcher::FetchBatch(const std::vector<ContentWant>& batch) { return FetchBatch(batch, ""); }

int ContentFetcher::FetchBatch(const std::vector<ContentWant>& batch, const std::string& reading) {
  std::vector<ContentWant> mine = Claim(batch);
  if (mine.empty()) return 0;
  int e = FetchClaimed(mine, reading);
  Release(mine);
  return e;
}

int ContentFetcher::Stream(const ContentWant& want) {
  // Twice: when the other fetch of it failed, this one tries itself.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<ContentWant> mine = Claim({want});
    if (mine.empty()) {
      AwaitInFlight(want.hash);
      if (local_->Contains(Digest{want.hash, want.size})) return 0;
      if (!farm_->connected()) return EIO;  // that fetch waited out the farm already
      continue;
    }
    int e = StreamClaimed(want);
    Release(mine);
    return e;
  }
  return EIO;
}

int ContentFetcher::Ensure(const ContentWant& want,
                           const std::function<std::vector<ContentWant>()>& list_neighbours) {
  if (local_->Contains(Digest{want.hash, want.size})) {
    counters_.local_hits++;
    return 0;
  }
  if (AwaitInFlight(want.hash)) {
    if (local_->Contains(Digest{want.hash, want.size})) return 0;
    // The fetch it waited for waited out an absent farm: one timeout, not two.
    if (!farm_->connected()) return EIO;
  }
  if (Streamed(want.size)) return Stream(want);
  std::vector<ContentWant> neighbours = list_neighbours();
  std::vector<ContentWant> batch{want};
  int64_t bytes = want.size;
  for (const auto& n : neighbours) {
    if (n.hash == want.hash) continue;
    if (!BatchTakes(batch.size(), bytes, n.size)) break;
    batch.push_back(n);
    bytes += n.size;
  }
  int e = FetchBatch(batch, want.hash);
  if (e) return e;
  // Another fetch may have claimed it just before this batch did.
  if (!local_->Contains(Digest{want.hash, want.size})) AwaitInFlight(want.hash);
  return local_->Contains(Digest{want.hash, want.size}) ? 0 : ESTALE;
}

int ContentFetcher::FetchClaimed(const std::vector<ContentWant>& batch, const std::string& reading) {
  v1::FetchRequest req;
  for (const auto& w : batch) {
    auto* item = req.add_items();
    item->set_path(w.path);
    item->set_hash(w.hash);
    item->set_size(w.size);
  }
  v1::FetchResponse resp;
  counters_.fetch_calls++;
  if (int e = farm_->Call(&v1::WorkspaceFs::Stub::Fetch, req, &resp)) return e;
  for (const auto& blob : resp.blobs()) {
    if (blob.error() != 0) continue;  // the caller sees whether what it needed arrived
    Digest d{blob.hash(), static_cast<int64_t>(blob.data().size())};
    // Put verifies the bytes against the hash: only what it kept is handed on.
    if (!local_->Put(d, blob.data()).ok()) continue;
    counters_.fetched_bytes += d.size;
    counters_.fetched_blobs++;
    if (!on_fetched_ || blob.hash() == reading) continue;
    for (const auto& w : batch) {
      if (w.hash != blob.hash()) continue;
      on_fetched_(w, blob.data());
      break;  // Claim let each content into a batch once
    }
  }
  return 0;
}

int ContentFetcher::StreamClaimed(const ContentWant& want) {
  Digest digest{want.hash, want.size};
  auto writer = local_->OpenWrite(digest);
  if (!writer.ok()) return writer.status().code() == Status::Code::kAlreadyExists ? 0 : EIO;
  v1::ReadFileRequest req;
  req.set_workspace(farm_->workspace());
  req.set_path(want.path);
  req.set_hash(want.hash);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + farm_->timeout() +
                   std::chrono::seconds(want.size / kStreamBytesPerSecond));
  ctx.set_wait_for_ready(true);
  RouteToWorkspace(&ctx, farm_->workspace());
  counters_.fetch_calls++;
  auto reader = farm_->stub()->ReadFile(&ctx, req);
  v1::ReadFileChunk chunk;
  int err = 0;
  while (reader->Read(&chunk)) {
    if (chunk.error() != 0) {
      err = chunk.error();
      break;
    }
    if (!(*writer)->Append(chunk.data()).ok()) {
      err = EIO;
      break;
    }
  }
  if (err) {
    ctx.TryCancel();
    reader->Finish();
    return err;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return farm_->FromGrpc(s);
  // Commit verifies size and hash: a file that changed mid-stream is refused.
  if (!(*writer)->Commit().ok()) return ESTALE;
  counters_.fetched_bytes += want.size;
  counters_.fetched_blobs++;
  return 0;
}

}  // namespace cifs
