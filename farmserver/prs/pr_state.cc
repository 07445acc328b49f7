#include "farmserver/prs/pr_state.h"

#include "common/enum_names.h"

namespace cifs {
namespace {

constexpr EnumNames<PrState, 6> kNames({{
    {PrState::kOpen, "open"},
    {PrState::kApproved, "approved"},
    {PrState::kRejected, "rejected"},
    {PrState::kQueued, "queued"},
    {PrState::kMerged, "merged"},
    {PrState::kClosed, "closed"},
}});

}  // namespace

std::string_view PrStateName(PrState s) { return kNames.Name(s); }

std::optional<PrState> ParsePrState(std::string_view name) { return kNames.Parse(name); }

std::string_view PrEventName(PrEvent e) {
  switch (e) {
    case PrEvent::kRevise: return "revise";
    case PrEvent::kApprove: return "approve";
    case PrEvent::kReject: return "reject";
    case PrEvent::kQueue: return "queue";
    case PrEvent::kLand: return "land";
    case PrEvent::kEject: return "eject";
    case PrEvent::kWithdraw: return "withdraw";
  }
  return "unknown";
}

std::optional<PrState> NextPrState(PrState s, PrEvent e) {
  if (e == PrEvent::kLand) return PrState::kMerged;
  if (!InReview(s)) return std::nullopt;
  switch (e) {
    case PrEvent::kRevise: return PrState::kOpen;
    case PrEvent::kReject: return PrState::kRejected;
    case PrEvent::kApprove: return s == PrState::kQueued ? PrState::kQueued : PrState::kApproved;
    case PrEvent::kQueue:
      if (s == PrState::kApproved) return PrState::kQueued;
      return std::nullopt;
    case PrEvent::kEject:
      if (s == PrState::kQueued) return PrState::kApproved;
      return std::nullopt;
    case PrEvent::kWithdraw:
      if (s == PrState::kOpen) return PrState::kClosed;
      return std::nullopt;
    case PrEvent::kLand: break;
  }
  return std::nullopt;
}

}  // namespace cifs
