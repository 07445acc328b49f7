// Wall-clock time as the integers records and logs store.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace cifs {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t NowSeconds() { return NowMs() / 1000; }

// File times as nanoseconds since 1970, both ways. Times before 1970 are
// negative; tv_nsec stays in [0, 1e9) as the kernel wants it.
inline int64_t TimespecToNs(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }
inline struct timespec NsToTimespec(int64_t ns) {
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --sec;
  }
  return {static_cast<time_t>(sec), static_cast<long>(rem)};
}

}  // namespace cifs
