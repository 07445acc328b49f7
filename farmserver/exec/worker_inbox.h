// What one worker's stream says, read by a thread of its own for the
// stream's whole life: the handler meanwhile waits for work to hand out or
// tells the worker to stop an action (gRPC allows one reader and one writer
// at a time). It keeps the newest availability the worker announced.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "cifs/v1/worker.grpc.pb.h"

namespace cifs {

class WorkerInbox {
 public:
  using Stream = grpc::ServerReaderWriter<v1::WorkAssignment, v1::WorkerMessage>;

  // Starts reading `stream` after its hello, which said `availability`;
  // `ctx` is cancelled to stop the reader early.
  WorkerInbox(grpc::ServerContext* ctx, Stream* stream, v1::WorkerAvailability availability);
  ~WorkerInbox();
  WorkerInbox(const WorkerInbox&) = delete;
  WorkerInbox& operator=(const WorkerInbox&) = delete;

  // The next result the worker sent, waiting until `deadline`; nullopt at
  // the deadline or once the stream closed (see closed()).
  std::optional<v1::WorkResult> NextResult(std::chrono::steady_clock::time_point deadline);
  // Waits until the worker is free, the stream closed or `deadline`.
  // True when free.
  bool WaitFree(std::chrono::steady_clock::time_point deadline);
  bool busy();
  bool closed();

 private:
  void Read(Stream* stream);

  grpc::ServerContext* ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::WorkResult> results_;
  v1::WorkerAvailability availability_;  // the newest epoch heard
  bool closed_ = false;
  std::thread reader_;
};

}  // namespace cifs
