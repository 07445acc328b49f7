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
#include <thread>

#include "common/log.h"
#include "farmserver/auth.h"
#include "farmserver/http/request_auth.h"
#include "farmserver/metrics.h"
#include "farmserver/web/rpc_gateway.h"
#include "farmserver/web/sessions.h"
#include "metadata/metadata_store.h"
#include "store/content_store.h"

namespace httplib {
class SSLServer;
}

namespace cifs {

struct HttpServerOptions {
  std::string listen;
  int port = 0;
  std::string cert_file, key_file, client_ca_file;
  int threads = 64;  // live pages hold one each while they follow a build
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Authenticator* auth, WebSessions* sessions, ChangeSignal* changes,
             ContentStore* store, Metrics* metrics, Logger* log);
  ~HttpServer();

  // Binds the port (port() is known after), serving nothing yet.
  Status Bind();
  // Starts serving on a thread; REST calls go through `gateway`.
  Status Serve(const RpcGateway* gateway);
  void Stop();
  int port() const { return port_; }

 private:
  void OpsRoutes();
  void ApiRoutes();
  void WebRoutes();
  void EventRoutes();
  // The caller, or an error response already sent (and nullopt returned).
  std::optional<Caller> Authenticated(const httplib::Request& req, httplib::Response& res);

  // Live pages hold their request open; Stop() ends them. A stream registers
  // the gRPC call it blocks in, so Stop() can cancel it.
  bool stopping() const { return stopping_; }
  void Track(grpc::ClientContext* ctx);
  void Untrack(grpc::ClientContext* ctx);
  // Sleeps up to `d`; false once the server is stopping.
  bool Pause(std::chrono::milliseconds d);
  // A live stream holds one of the server's threads for as long as it is
  // open. The slot, or null when too many are open (the rest of the threads
  // stay for ordinary requests; EventSource retries by itself).
  std::shared_ptr<void> StreamSlot();

  HttpServerOptions options_;
  Authenticator* auth_;
  WebSessions* sessions_;
  RequestAuth request_auth_;
  ChangeSignal* changes_;
  ContentStore* store_;
  Metrics* metrics_;
  Logger* log_;
  const RpcGateway* gateway_ = nullptr;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex streams_mu_;
  std::condition_variable streams_cv_;
  std::set<grpc::ClientContext*> streams_;
  std::atomic<int> open_streams_{0};
};

}  // namespace cifs
