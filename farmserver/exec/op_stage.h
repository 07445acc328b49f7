// The life of one remote-execution operation, as a pure transition function
// (unit-tested on its own; the scheduler only applies it).
#pragma once

#include <optional>

namespace cifs {

enum class OpStage {
  kQueued,     // waiting for a worker whose platform fits
  kExecuting,  // a worker holds it (its stream is the lease)
  kCompleted,  // answered: a result, or an error the caller sees
};

enum class OpEvent {
  kAssigned,    // a worker took it
  kWorkerLost,  // the worker's stream broke before it answered
  kDeclined,    // the worker was busy with another node's action
  kAnswered,    // the worker sent its response
  kFailed,      // given up: too many lost workers, the farm is stopping
};

// The stage after `event`, or nullopt when `event` cannot happen in `stage`
// (a late answer from a worker whose lease was already taken back).
std::optional<OpStage> NextOpStage(OpStage stage, OpEvent event);

const char* OpStageName(OpStage stage);

}  // namespace cifs
