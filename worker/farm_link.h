// One node's Work stream, dialed again whenever it breaks. A worker holds a
// link to every node of its cluster; the links share the worker's Slot and
// Executor, so whichever node hands it an action first has it, and the
// action's inputs and outputs go to and from that node's CAS.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cifs/v1/worker.grpc.pb.h"
#include "worker/cas_client.h"
#include "worker/executor.h"
#include "worker/slot.h"

namespace cifs {

class FarmLink {
 public:
  // `announce` tells every other link about a change of `slot`.
  using Announce = std::function<void(const FarmLink* from, const v1::WorkerAvailability& now)>;

  FarmLink(std::string farm, std::shared_ptr<grpc::Channel> channel, v1::WorkerHello hello, Slot* slot,
           Executor* executor, Announce announce);
  // Serves the node until the process ends (a thread per link).
  [[noreturn]] void Serve();
  // Passes on a state change of the worker, if the stream is up.
  void Tell(const v1::WorkerAvailability& now);

 private:
  using Stream = grpc::ClientReaderWriter<v1::WorkerMessage, v1::WorkAssignment>;
  // One stream's life; returns when it breaks.
  void Session(Stream* stream);
  bool Write(const v1::WorkerMessage& msg);

  const std::string farm_;
  const std::string worker_name_;
  std::unique_ptr<v1::Workers::Stub> stub_;
  CasClient cas_;
  v1::WorkerHello hello_;
  Slot* slot_;
  Executor* executor_;
  Announce announce_;
  std::mutex write_mu_;        // one writer at a time on the stream
  Stream* stream_ = nullptr;   // the live stream, under write_mu_
};

}  // namespace cifs
