#include "farmserver/prs/validation_state.h"

#include <array>
#include <utility>

namespace cifs {
namespace {

constexpr std::array<std::pair<ValidationState, std::string_view>, 6> kNames = {{
    {ValidationState::kPending, "pending"},
    {ValidationState::kRunning, "running"},
    {ValidationState::kPassed, "passed"},
    {ValidationState::kFailed, "failed"},
    {ValidationState::kConflicted, "conflicted"},
    {ValidationState::kError, "error"},
}};

}  // namespace

std::string_view ValidationStateName(ValidationState s) {
  for (const auto& [state, name] : kNames) {
    if (state == s) return name;
  }
  return "unknown";
}

std::optional<ValidationState> ParseValidationState(std::string_view name) {
  for (const auto& [state, n] : kNames) {
    if (n == name) return state;
  }
  return std::nullopt;
}

bool Undecided(std::string_view name) {
  auto s = ParseValidationState(name);
  return s && Undecided(*s);
}

bool Green(std::string_view name) { return ParseValidationState(name) == ValidationState::kPassed; }

}  // namespace cifs
