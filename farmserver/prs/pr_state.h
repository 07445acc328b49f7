// A pull request's life as an enum and a pure transition function; the
// records and the wire keep the names ("open", "queued", ...).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cifs {

enum class PrState { kOpen, kApproved, kRejected, kQueued, kMerged, kClosed };

enum class PrEvent {
  kRevise,    // a new revision was submitted
  kApprove,   // a lead approved the latest revision
  kReject,    // a lead rejected it
  kQueue,     // `cifs pr merge` (or auto-merge) of an approved, green PR
  kLand,      // its commit is on the target
  kEject,     // the queue took it out (red, conflicted, withdrawn)
  kWithdraw,  // its first push failed: it never existed upstream
};

std::string_view PrStateName(PrState s);
std::optional<PrState> ParsePrState(std::string_view name);
std::string_view PrEventName(PrEvent e);

// The state after `e`, or nullopt when `e` cannot happen in `s`.
//   open, approved, rejected: revise -> open, approve -> approved,
//                             reject -> rejected
//   approved:                 queue -> queued
//   queued:                   revise -> open, reject -> rejected,
//                             approve -> queued (stays), eject -> approved
//   open:                     withdraw -> closed
//   any:                      land -> merged (what is on the target is merged)
std::optional<PrState> NextPrState(PrState s, PrEvent e);

// Still in review: not merged or closed.
inline bool InReview(PrState s) { return s != PrState::kMerged && s != PrState::kClosed; }

}  // namespace cifs
