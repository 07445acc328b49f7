// Counters the farm exports on /metrics (Prometheus text format).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace cifs {

struct Metrics {
  std::atomic<int64_t> cas_find_missing_calls{0};
  std::atomic<int64_t> cas_find_missing_digests{0};
  std::atomic<int64_t> cas_blobs_written{0};
  std::atomic<int64_t> cas_bytes_written{0};
  std::atomic<int64_t> cas_bytes_read{0};
  std::atomic<int64_t> cas_writes_rejected{0};
  std::atomic<int64_t> ac_hits{0};
  std::atomic<int64_t> ac_misses{0};
  std::atomic<int64_t> ac_incomplete{0};  // entry present but an output blob missing
  std::atomic<int64_t> ac_updates{0};
  std::atomic<int64_t> bes_events{0};
  std::atomic<int64_t> bes_invocations{0};
  std::atomic<int64_t> auth_refused{0};
};

}  // namespace cifs
