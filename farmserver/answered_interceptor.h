// Marks every answer of this farm with a trailer (kFarmAnsweredTrailer), so
// a client can tell "the farm says a dependency is unavailable" (an upstream
// git server, a workspace's node) from "the farm did not answer".
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include "farmclient/farm_client.h"

namespace cifs {

class AnsweredInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->GetSendTrailingMetadata()->emplace(kFarmAnsweredTrailer, "1");
    }
    methods->Proceed();
  }
};

class AnsweredInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo*) override {
    // gRPC takes ownership of the interceptor it asked for.
    return new AnsweredInterceptor();  // NOLINT(cppcoreguidelines-owning-memory)
  }
};

}  // namespace cifs
