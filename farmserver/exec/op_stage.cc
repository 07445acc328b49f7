#include "farmserver/exec/op_stage.h"

namespace cifs {

std::optional<OpStage> NextOpStage(OpStage stage, OpEvent event) {
  switch (stage) {
    case OpStage::kQueued:
      if (event == OpEvent::kAssigned) return OpStage::kExecuting;
      if (event == OpEvent::kFailed) return OpStage::kCompleted;
      return std::nullopt;
    case OpStage::kExecuting:
      if (event == OpEvent::kWorkerLost || event == OpEvent::kDeclined) return OpStage::kQueued;
      if (event == OpEvent::kAnswered || event == OpEvent::kFailed) return OpStage::kCompleted;
      return std::nullopt;
    case OpStage::kCompleted: return std::nullopt;
  }
  return std::nullopt;
}

const char* OpStageName(OpStage stage) {
  switch (stage) {
    case OpStage::kQueued: return "queued";
    case OpStage::kExecuting: return "executing";
    case OpStage::kCompleted: return "completed";
  }
  return "unknown";
}

}  // namespace cifs
