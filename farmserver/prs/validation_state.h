// A revision's validation as an enum; the records and the wire keep the
// names ("pending", "running", ...).
#pragma once

#include <optional>
#include <string_view>

namespace cifs {

enum class ValidationState {
  kPending,     // asked for, not started (or to start again after a restart)
  kRunning,     // merging, testing the target's tip, testing the merge
  kPassed,      // the merge's tests passed: the revision is green
  kFailed,      // they did not
  kConflicted,  // the revision does not merge into its target
  kError,       // the farm could not validate it (a missing branch, a lost build)
};

std::string_view ValidationStateName(ValidationState s);
// An unknown name (a newer farm's, a damaged record) is nullopt.
std::optional<ValidationState> ParseValidationState(std::string_view name);

// Not decided yet: a validation in this state is run again after a restart
// or a node's death, and the queue waits for it.
inline bool Undecided(ValidationState s) { return s == ValidationState::kPending || s == ValidationState::kRunning; }
// By name, as records hold it; an unknown name is decided (not green).
bool Undecided(std::string_view name);
// Only a passed validation lets a revision land.
bool Green(std::string_view name);

}  // namespace cifs
