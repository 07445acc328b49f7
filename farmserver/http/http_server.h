// The farm's HTTPS side: the REST API (every gRPC method of the cifs API as
// JSON, through RpcGateway), the web UI and browser sign-in, health and
// metrics. Callers prove who they are with a client certificate from the
// farm CA (optional at the TLS layer, so browsers can connect) or a session
// cookie; a request with neither reaches nothing but the sign-in page and
// the UI's static files.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/log.h"
#include "farmserver/auth.h"
#include "farmserver/http/change_broadcaster.h"
#include "farmserver/http/https_server.h"
#include "farmserver/http/request_auth.h"
#include "farmserver/metrics.h"
#include "farmserver/web/rpc_gateway.h"
#include "farmserver/web/sessions.h"
#include "metadata/metadata_store.h"
#include "store/content_store.h"

namespace cifs {


class HttpServer {
 public:
  HttpServer(HttpsServerOptions options, Authenticator* auth, WebSessions* sessions, ChangeSignal* changes,
             ContentStore* store, Metrics* metrics, Logger* log);
  ~HttpServer();

  // Binds the port (port() is known after), serving nothing yet.
  [[nodiscard]] Status Bind();
  // Starts serving; REST calls go through `gateway`.
  [[nodiscard]] Status Serve(const RpcGateway* gateway);
  void Stop();
  int port() const { return transport_.port(); }

 private:
  void OpsRoutes();
  void ApiRoutes();
  void WebRoutes();
  void EventRoutes();
  // Bodies beyond these are refused (413) before they are read: the
  // gateway's is the gRPC message limit; no other route takes more than a
  // small JSON object.
  static constexpr size_t kSmallBody = 16 << 10;
  // The caller the transport authenticated from the request's headers.
  static const Caller& CallerOf(const HttpRequest& req);

  // Streams that follow a gRPC call block a thread in it; Stop() ends them.
  // A stream registers the call it blocks in, so Stop() can cancel it.
  bool stopping() const { return stopping_; }
  void Track(grpc::ClientContext* ctx);
  void Untrack(grpc::ClientContext* ctx);

  Authenticator* auth_;
  WebSessions* sessions_;
  RequestAuth request_auth_;
  ChangeSignal* changes_;
  ContentStore* store_;
  Metrics* metrics_;
  Logger* log_;
  const RpcGateway* gateway_ = nullptr;
  HttpsServer transport_;
  ChangeBroadcaster broadcaster_;
  std::atomic<bool> stopping_{false};
  std::mutex streams_mu_;
  std::set<grpc::ClientContext*> streams_;
};

}  // namespace cifs
