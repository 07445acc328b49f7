// Reproducible incompressible test data.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace cifs {

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace cifs
