#include "farmserver/prs/validation_state.h"

#include "common/enum_names.h"

namespace cifs {
namespace {

constexpr EnumNames<ValidationState, 6> kNames({{
    {ValidationState::kPending, "pending"},
    {ValidationState::kRunning, "running"},
    {ValidationState::kPassed, "passed"},
    {ValidationState::kFailed, "failed"},
    {ValidationState::kConflicted, "conflicted"},
    {ValidationState::kError, "error"},
}});

}  // namespace

std::string_view ValidationStateName(ValidationState s) { return kNames.Name(s); }

std::optional<ValidationState> ParseValidationState(std::string_view name) { return kNames.Parse(name); }

bool Undecided(std::string_view name) {
  auto s = ParseValidationState(name);
  return s && Undecided(*s);
}

bool Green(std::string_view name) { return ParseValidationState(name) == ValidationState::kPassed; }

}  // namespace cifs
