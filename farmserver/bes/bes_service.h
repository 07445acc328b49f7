// google.devtools.build.v1.PublishBuildEvent: the Build Event Service Bazel
// streams to with --bes_backend. Every event is acknowledged in order.
#pragma once

#include "farmserver/auth.h"
#include "farmserver/bes/build_recorder.h"
#include "farmserver/metrics.h"
#include "google/devtools/build/v1/publish_build_event.grpc.pb.h"

namespace cifs {

class BesService final : public google::devtools::build::v1::PublishBuildEvent::Service {
 public:
  BesService(BuildRecorder* recorder, Authenticator* auth, Metrics* metrics, Logger* log)
      : recorder_(recorder), auth_(auth), metrics_(metrics), log_(log) {}

  grpc::Status PublishLifecycleEvent(grpc::ServerContext* ctx,
                                     const google::devtools::build::v1::PublishLifecycleEventRequest* req,
                                     google::protobuf::Empty* resp) override;
  grpc::Status PublishBuildToolEventStream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<google::devtools::build::v1::PublishBuildToolEventStreamResponse,
                               google::devtools::build::v1::PublishBuildToolEventStreamRequest>* stream) override;

 private:
  BuildRecorder* recorder_;
  Authenticator* auth_;
  Metrics* metrics_;
  Logger* log_;
};

}  // namespace cifs
