// Lists a subtree with a few threads, for a ListTree stream. A cold disk
// answers stats issued in parallel several times faster than one at a time
// (git's own status stats from twenty threads), and a listing that hashes
// files spreads the hashing over the threads too.
//
// Directories come out in an order close to a depth-first walk in name
// order, a directory always before those below it, so that a mount always
// knows where each one goes. At the root of the walk, a `.git` is listed
// last: whoever walks or stats the tree wants the working files first.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "cifs/v1/fs.pb.h"

namespace cifs {

struct TreeWalkOptions {
  int threads = 4;
  // Listed entries waiting for the consumer: the listers pause beyond this.
  size_t max_buffered_entries = 16384;
};

class TreeWalk {
 public:
  // Lists directory `path` into `out` (its attributes and entries); returns
  // 0 or an errno.
  using ListFn = std::function<int(const std::string& path, v1::TreeDir* out)>;
  // Takes one listed directory (on the calling thread); false stops the walk.
  using EmitFn = std::function<bool(v1::TreeDir dir)>;
  // Called on the calling thread while it waits (about every 100 ms); false
  // stops the walk (a cancelled call).
  using ContinueFn = std::function<bool()>;

  // Walks `root`. Returns the errno of listing `root` itself; directories
  // below that fail (removed meanwhile) are left out, as ReadDir would.
  // Returns ECANCELED when `emit` or `go_on` stopped it.
  static int Run(const std::string& root, const TreeWalkOptions& options, const ListFn& list, const EmitFn& emit,
                 const ContinueFn& go_on);
};

}  // namespace cifs
