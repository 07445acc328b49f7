// Wall-clock time as the integers records and logs store.
#pragma once

#include <chrono>
#include <cstdint>

namespace cifs {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t NowSeconds() { return NowMs() / 1000; }

}  // namespace cifs
