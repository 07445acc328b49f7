// The merge queue's decisions, as pure functions over the queued PRs of one
// target branch (in the order they were queued): which lane each is in,
// which of them the next batch tests together, and whom a failed batch
// ejects. merge_queue.cc applies them to the records.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "farmserver/prs/affected.h"

namespace cifs {

struct QueuedPr {
  bool ready = false;  // validated green, with its footprint known
  Footprint footprint;
};

struct LaneSlot {
  int lane = 0;        // 1, 2, ...: PRs whose changes meet share one
  int waits_on = -1;   // index of the last PR ahead of it that it meets; -1: none
};

// Lanes are the connected groups of the "changes meet" relation (Overlaps);
// a barrier meets everything.
std::vector<LaneSlot> AssignLanes(const std::vector<QueuedPr>& queue);

// The indexes the next batch tests as one chain of merges on the tip, in
// queue order: the longest ready run from the front, at most `window` PRs.
// PRs whose changes meet are stacked in it (each tested on top of those
// ahead); a PR not ready yet (its footprint unknown) ends the run, and a
// barrier (affects everything) is tested alone, nothing passing it.
std::vector<size_t> PickBatch(const std::vector<QueuedPr>& queue, size_t window);

// What to do after a batch failed (twice, so not a flake) with
// `failed_targets`. The batch's PRs in chain order.
struct BatchVerdict {
  // Each failing target is in exactly one PR's footprint: those PRs leave
  // the queue, the rest are tested again without them.
  std::vector<size_t> eject;
  // Otherwise (a target in several footprints, or in none, which the
  // analysis missed): test only this many PRs from the front of the chain
  // next time, so that a lone PR is finally tested and judged alone.
  size_t shrink_to = 0;
  std::vector<std::string> unattributed;  // the failing targets that decided it
};
BatchVerdict JudgeFailure(const std::vector<Footprint>& batch, const std::vector<std::string>& failed_targets);

}  // namespace cifs
