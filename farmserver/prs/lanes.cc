#include "farmserver/prs/lanes.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace cifs {
namespace {

bool Contains(const Footprint& f, const std::string& target) {
  return f.everything || std::binary_search(f.targets.begin(), f.targets.end(), target);
}

}  // namespace

std::vector<LaneSlot> AssignLanes(const std::vector<QueuedPr>& queue) {
  const size_t n = queue.size();
  std::vector<size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  std::vector<LaneSlot> slots(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (!Overlaps(queue[j].footprint, queue[i].footprint)) continue;
      parent[find(i)] = find(j);
      slots[i].waits_on = static_cast<int>(j);
    }
  }
  // Numbered by their first PR, so lane 1 holds the head of the queue.
  std::vector<int> lane_of_root(n, 0);
  int lanes = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t root = find(i);
    if (lane_of_root[root] == 0) lane_of_root[root] = ++lanes;
    slots[i].lane = lane_of_root[root];
  }
  return slots;
}

std::vector<size_t> PickBatch(const std::vector<QueuedPr>& queue, size_t window) {
  std::vector<size_t> batch;
  for (size_t i = 0; i < queue.size() && batch.size() < window; ++i) {
    if (!queue[i].ready) break;
    if (queue[i].footprint.everything) {
      if (batch.empty()) batch.push_back(i);
      break;
    }
    batch.push_back(i);
  }
  return batch;
}

BatchVerdict JudgeFailure(const std::vector<Footprint>& batch, const std::vector<std::string>& failed_targets) {
  BatchVerdict v;
  if (batch.size() == 1) {
    v.eject = {0};
    return v;
  }
  std::set<size_t> eject;
  size_t last_ambiguous = 0;
  bool unknown = failed_targets.empty();
  for (const auto& t : failed_targets) {
    std::vector<size_t> in;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (Contains(batch[i], t)) in.push_back(i);
    }
    if (in.size() == 1) {
      eject.insert(in[0]);
      continue;
    }
    v.unattributed.push_back(t);
    if (in.empty()) unknown = true;
    else last_ambiguous = std::max(last_ambiguous, in.back());
  }
  if (v.unattributed.empty() && !unknown) {
    v.eject.assign(eject.begin(), eject.end());
    return v;
  }
  // Several PRs meet on a failing target: the last of them may be what
  // broke it on top of the others, so the front is tested without it. A
  // failure no footprint explains: halve.
  v.shrink_to = last_ambiguous > 0 && !unknown ? last_ambiguous : std::max<size_t>(1, batch.size() / 2);
  return v;
}

}  // namespace cifs
