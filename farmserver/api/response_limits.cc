#include "farmserver/api/response_limits.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>

namespace cifs {

namespace {
// Lower ranks are dropped first.
int Rank(const v1::Target& t) {
  if (t.test_status().empty()) return t.built() || !t.completed() ? 0 : 2;
  return t.test_status() == "PASSED" ? 1 : 2;
}
}  // namespace

void TrimTargetsToFit(v1::Build* build, size_t max_bytes) {
  if (build->ByteSizeLong() <= max_bytes) return;
  auto* targets = build->mutable_targets();
  std::stable_sort(targets->begin(), targets->end(),
                   [](const v1::Target& a, const v1::Target& b) { return Rank(a) > Rank(b); });
  size_t size = build->ByteSizeLong();
  int keep = targets->size();
  while (keep > 0 && size > max_bytes) {
    --keep;
    // A repeated message field costs a one-byte tag, the length varint and the body.
    size_t body = targets->Get(keep).ByteSizeLong();
    size -= 1 + google::protobuf::io::CodedOutputStream::VarintSize64(body) + body;
  }
  targets->DeleteSubrange(keep, targets->size() - keep);
  build->set_targets_truncated(true);
}

}  // namespace cifs
