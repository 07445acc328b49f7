// The names an enum is recorded and sent by, both ways: one table per enum,
// so a name and its value cannot drift apart.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace cifs {

template <typename E, size_t N>
class EnumNames {
 public:
  constexpr explicit EnumNames(std::array<std::pair<E, std::string_view>, N> names) : names_(names) {}

  constexpr std::string_view Name(E value) const {
    for (const auto& [v, name] : names_) {
      if (v == value) return name;
    }
    return "unknown";
  }
  // nullopt for a name not in the table (a newer peer's, a damaged record).
  constexpr std::optional<E> Parse(std::string_view name) const {
    for (const auto& [v, n] : names_) {
      if (n == name) return v;
    }
    return std::nullopt;
  }

 private:
  std::array<std::pair<E, std::string_view>, N> names_;
};

}  // namespace cifs
