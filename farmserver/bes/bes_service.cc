#include "farmserver/bes/bes_service.h"

namespace cifs {

namespace bes = google::devtools::build::v1;

grpc::Status BesService::PublishLifecycleEvent(grpc::ServerContext* ctx, const bes::PublishLifecycleEventRequest* req,
                                               google::protobuf::Empty*) {
  auto id = auth_->FromContextOrBuilder(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  const auto& ev = req->build_event();
  log_->Debug("bes_lifecycle", {{"invocation", ev.stream_id().invocation_id()},
                                {"build", ev.stream_id().build_id()},
                                {"sequence", ev.sequence_number()},
                                {"user", id->name}});
  return grpc::Status::OK;
}

grpc::Status BesService::PublishBuildToolEventStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<bes::PublishBuildToolEventStreamResponse, bes::PublishBuildToolEventStreamRequest>*
        stream) {
  auto id = auth_->FromContextOrBuilder(ctx);
  if (!id.ok()) return ToGrpc(id.status());
  bes::PublishBuildToolEventStreamRequest req;
  std::string invocation;
  int64_t last_seq = 0;
  bool saw_last = false;
  while (stream->Read(&req)) {
    const auto& obe = req.ordered_build_event();
    const std::string& inv = obe.stream_id().invocation_id();
    if (inv.empty() || inv.size() > 128) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event without a valid invocation id");
    }
    if (invocation.empty()) {
      invocation = inv;
      Status s = recorder_->Begin(invocation, *id);
      if (!s.ok()) return ToGrpc(s);
      metrics_->bes_invocations++;
    } else if (inv != invocation) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "one stream may carry one invocation only");
    }
    int64_t seq = obe.sequence_number();
    if (seq <= last_seq) {
      // A resent event (Bazel retries from its last unacknowledged one).
    } else if (seq != last_seq + 1 && last_seq != 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "sequence number " + std::to_string(seq) + " after " + std::to_string(last_seq));
    } else {
      last_seq = seq;
      metrics_->bes_events++;
      const auto& ev = obe.event();
      if (ev.has_bazel_event()) {
        build_event_stream::BuildEvent bep;
        if (!ev.bazel_event().UnpackTo(&bep)) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bazel_event is not a build_event_stream.BuildEvent");
        }
        Status s = recorder_->OnEvent(invocation, bep);
        if (!s.ok()) return ToGrpc(s);
      } else if (ev.has_console_output()) {
        Status s = recorder_->AppendConsole(invocation, ev.console_output().text_output());
        if (!s.ok()) return ToGrpc(s);
      } else if (ev.has_component_stream_finished()) {
        saw_last = true;
      }
    }
    bes::PublishBuildToolEventStreamResponse resp;
    *resp.mutable_stream_id() = obe.stream_id();
    resp.set_sequence_number(seq);
    if (!stream->Write(resp)) break;
  }
  if (!invocation.empty()) {
    Status s = recorder_->End(invocation, saw_last);
    if (!s.ok()) log_->Error("bes_end_failed", {{"invocation", invocation}, {"error", s.ToString()}});
  }
  return grpc::Status::OK;
}

}  // namespace cifs
