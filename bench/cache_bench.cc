// cache_bench: ByteStream throughput and FindMissingBlobs latency against a
// farm, for scripts/bench-cache. Prints one JSON object per measurement.
//   cache_bench --config CONFIG.toml bytestream SIZE_MIB
//   cache_bench --config CONFIG.toml find-missing COUNT
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "common/client_config.h"
#include "common/digest.h"
#include "common/files.h"
#include "google/bytestream/bytestream.grpc.pb.h"

namespace re = build::bazel::remote::execution::v2;
namespace bs = google::bytestream;

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Fill(std::string* buf, uint64_t* state) {
  for (size_t i = 0; i + 8 <= buf->size(); i += 8) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    std::memcpy(buf->data() + i, state, 8);
  }
}

int ByteStreamBench(std::shared_ptr<grpc::Channel> ch, int64_t mib) {
  const int64_t size = mib << 20;
  const size_t chunk = 1 << 20;
  std::string buf(chunk, '\0');
  uint64_t state = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  const uint64_t seed = state;
  cifs::Sha256 h;
  for (int64_t off = 0; off < size; off += chunk) {
    Fill(&buf, &state);
    h.Update(buf);
  }
  std::string hash = h.FinishHex();
  auto stub = bs::ByteStream::NewStub(ch);
  auto start = std::chrono::steady_clock::now();
  {
    grpc::ClientContext ctx;
    bs::WriteResponse resp;
    auto w = stub->Write(&ctx, &resp);
    state = seed;
    bs::WriteRequest req;
    for (int64_t off = 0; off < size; off += chunk) {
      req.set_resource_name(off == 0 ? "uploads/bench/blobs/" + hash + "/" + std::to_string(size) : "");
      req.set_write_offset(off);
      req.mutable_data()->resize(chunk);
      Fill(req.mutable_data(), &state);
      req.set_finish_write(off + static_cast<int64_t>(chunk) >= size);
      if (!w->Write(req)) break;
    }
    w->WritesDone();
    auto s = w->Finish();
    if (!s.ok()) {
      std::fprintf(stderr, "write failed: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  double write_s = Seconds(start);
  start = std::chrono::steady_clock::now();
  int64_t total = 0;
  {
    grpc::ClientContext ctx;
    bs::ReadRequest r;
    r.set_resource_name("blobs/" + hash + "/" + std::to_string(size));
    auto reader = stub->Read(&ctx, r);
    bs::ReadResponse resp;
    while (reader->Read(&resp)) total += static_cast<int64_t>(resp.data().size());
    if (!reader->Finish().ok() || total != size) {
      std::fprintf(stderr, "read failed\n");
      return 1;
    }
  }
  double read_s = Seconds(start);
  std::printf("{\"bytestream_write_mib_s\": %.1f, \"bytestream_read_mib_s\": %.1f, \"mib\": %lld}\n",
              mib / write_s, mib / read_s, static_cast<long long>(mib));
  return 0;
}

int FindMissingBench(std::shared_ptr<grpc::Channel> ch, int count) {
  // Half present (uploaded first), half absent; batches of 10k digests
  // (~0.7 MB, below Bazel's 1 MiB requests).
  auto cas = re::ContentAddressableStorage::NewStub(ch);
  std::vector<re::Digest> digests;
  re::BatchUpdateBlobsRequest up;
  for (int i = 0; i < count; ++i) {
    std::string data = "blob-" + std::to_string(i) + "-" + std::to_string(count);
    cifs::Digest d = cifs::ComputeDigest(data);
    re::Digest pd;
    pd.set_hash(d.hash);
    pd.set_size_bytes(d.size);
    digests.push_back(pd);
    if (i % 2 == 0) {
      auto* e = up.add_requests();
      *e->mutable_digest() = pd;
      e->set_data(data);
      if (up.requests_size() == 20000 || i + 2 >= count) {
        grpc::ClientContext ctx;
        re::BatchUpdateBlobsResponse resp;
        if (!cas->BatchUpdateBlobs(&ctx, up, &resp).ok()) return 1;
        up.Clear();
      }
    }
  }
  // Requests are built before the clock starts, as a client holding its
  // digests would; the best of three rounds is reported.
  constexpr int kBatch = 10000;
  std::vector<re::FindMissingBlobsRequest> requests;
  for (int off = 0; off < count; off += kBatch) {
    requests.emplace_back();
    for (int i = off; i < std::min(count, off + kBatch); ++i) *requests.back().add_blob_digests() = digests[i];
  }
  double best_ms = 1e18;
  int64_t missing = 0;
  const int rounds = std::getenv("CIFS_BENCH_ROUNDS") ? std::atoi(std::getenv("CIFS_BENCH_ROUNDS")) : 3;
  for (int round = 0; round < rounds; ++round) {
    auto start = std::chrono::steady_clock::now();
    missing = 0;
    for (const auto& req : requests) {
      grpc::ClientContext ctx;
      re::FindMissingBlobsResponse resp;
      auto s = cas->FindMissingBlobs(&ctx, req, &resp);
      if (!s.ok()) {
        std::fprintf(stderr, "FindMissingBlobs failed: %s\n", s.error_message().c_str());
        return 1;
      }
      missing += resp.missing_blob_digests_size();
    }
    best_ms = std::min(best_ms, Seconds(start) * 1000);
  }
  std::printf("{\"find_missing_digests\": %d, \"find_missing_ms\": %.1f, \"missing\": %lld}\n", count, best_ms,
              static_cast<long long>(missing));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "--config") {
    std::fprintf(stderr, "usage: cache_bench --config CONFIG.toml bytestream MIB | find-missing COUNT\n");
    return 2;
  }
  auto config = cifs::LoadClientConfig(argv[2]);
  if (!config.ok()) {
    std::fprintf(stderr, "cache_bench: %s\n", config.status().message().c_str());
    return 1;
  }
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *cifs::ReadFile(config->ca);
  tls.pem_cert_chain = *cifs::ReadFile(config->cert);
  tls.pem_private_key = *cifs::ReadFile(config->key);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  auto ch = grpc::CreateCustomChannel(config->farm, grpc::SslCredentials(tls), args);
  std::string mode = argv[3];
  if (mode == "bytestream") return ByteStreamBench(ch, std::stoll(argv[4]));
  if (mode == "find-missing") return FindMissingBench(ch, std::stoi(argv[4]));
  std::fprintf(stderr, "cache_bench: unknown mode %s\n", mode.c_str());
  return 2;
}
