#include "worker/farm_link.h"

#include <iostream>

namespace cifs {
namespace {

void LogRun(const std::string& name, const v1::WorkAssignment& work, const re::ExecuteResponse& r,
            std::chrono::steady_clock::time_point started, const std::string& farm) {
  const auto& m = r.result().execution_metadata();
  auto ms = [](const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
    return (b.seconds() - a.seconds()) * 1000 + (b.nanos() - a.nanos()) / 1000000;
  };
  std::cerr << "cifs-worker " << name << ": ran " << work.action_digest().hash() << " for " << farm << " exit "
            << r.result().exit_code() << " status " << r.status().code() << " in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
            << " ms (inputs " << ms(m.input_fetch_start_timestamp(), m.input_fetch_completed_timestamp()) << " ms)"
            << (r.status().message().empty() ? "" : ": " + r.status().message()) << "\n";
}

}  // namespace

FarmLink::FarmLink(std::string farm, std::shared_ptr<grpc::Channel> channel, v1::WorkerHello hello, Slot* slot,
                   Executor* executor, Announce announce)
    : farm_(std::move(farm)),
      worker_name_(hello.name()),
      stub_(v1::Workers::NewStub(channel)),
      cas_(channel),
      hello_(std::move(hello)),
      slot_(slot),
      executor_(executor),
      announce_(std::move(announce)) {}

bool FarmLink::Write(const v1::WorkerMessage& msg) {
  std::lock_guard lock(write_mu_);
  return stream_ != nullptr && stream_->Write(msg);
}

void FarmLink::Tell(const v1::WorkerAvailability& now) {
  v1::WorkerMessage msg;
  *msg.mutable_availability() = now;
  Write(msg);
}

void FarmLink::Serve() {
  for (int backoff_ms = 250;; backoff_ms = std::min(backoff_ms * 2, 5000)) {
    grpc::ClientContext ctx;
    auto stream = stub_->Work(&ctx);
    {
      std::lock_guard lock(write_mu_);
      stream_ = stream.get();
    }
    v1::WorkerMessage hello;
    *hello.mutable_hello() = hello_;
    *hello.mutable_availability() = slot_->Now();
    auto started = std::chrono::steady_clock::now();
    if (Write(hello)) Session(stream.get());
    {
      std::lock_guard lock(write_mu_);
      stream_ = nullptr;
    }
    stream->WritesDone();
    grpc::Status s = stream->Finish();
    // A stream that served a while was fine: dial again at once.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) backoff_ms = 250;
    std::cerr << "cifs-worker " << worker_name_ << ": the stream from " << farm_ << " ended (" << s.error_message()
              << "); dialing again\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
  }
}

void FarmLink::Session(Stream* stream) {
  // Reading goes on while an action runs: the node may ask to stop it.
  std::thread running;
  std::mutex op_mu;
  std::string running_op;  // this link's action, while it runs
  v1::WorkAssignment msg;
  while (stream->Read(&msg)) {
    if (msg.cancel()) {
      executor_->Cancel(msg.operation());
      continue;
    }
    v1::WorkerAvailability now;
    if (!slot_->Claim(this, &now)) {
      // Another node's action runs; this node sent before it heard.
      v1::WorkerMessage declined;
      declined.mutable_result()->set_operation(msg.operation());
      declined.mutable_result()->set_declined(true);
      *declined.mutable_availability() = now;
      Write(declined);
      continue;
    }
    announce_(this, now);
    if (running.joinable()) running.join();
    {
      std::lock_guard lock(op_mu);
      running_op = msg.operation();
    }
    running = std::thread([this, &op_mu, &running_op, work = msg] {
      auto started = std::chrono::steady_clock::now();
      v1::WorkerMessage answer;
      answer.mutable_result()->set_operation(work.operation());
      *answer.mutable_result()->mutable_response() = executor_->Run(work, cas_);
      LogRun(worker_name_, work, answer.result().response(), started, farm_);
      {
        std::lock_guard lock(op_mu);
        running_op.clear();
      }
      // Free before the answer goes out: the node may send the next one at once.
      v1::WorkerAvailability free = slot_->Release();
      announce_(this, free);
      *answer.mutable_availability() = free;
      Write(answer);
    });
  }
  // The stream broke: this node's action is the node's to retry elsewhere.
  {
    std::lock_guard lock(op_mu);
    if (!running_op.empty()) executor_->Cancel(running_op);
  }
  if (running.joinable()) running.join();
}

}  // namespace cifs
