// The HTTPS transport: an event loop on a few threads (Boost.Beast on Asio
// with OpenSSL), so an idle or slow connection costs memory, not a thread.
// Handlers run on a pool of their own, since they make blocking calls (the
// farm's gRPC services, its stores); the loop only parses, admits and writes.
//
// What a request must pass before any of its work is done, in order:
//   TLS handshake and headers, each within a deadline (slow clients go);
//   a route, and a declared body no larger than the route allows (413, never
//   read);
//   on routes for callers, the caller, known from the certificate and the
//   headers alone (the hook decides; its refusal is sent, the body unread);
//   room: a caller's requests in flight (429) and the handler queue (503),
//   both with Retry-After;
// and only then is the body read, within its own deadline and limit.
#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "farmserver/http/http_message.h"

namespace cifs {

struct HttpsServerOptions {
  std::string listen;
  int port = 0;
  std::string cert_file, key_file, client_ca_file;
  int io_threads = 2;
  int handler_threads = 16;
  size_t max_waiting = 512;      // requests queued for a handler; more get 503
  int max_per_caller = 64;       // one caller's requests in flight; more get 429
  int max_thread_streams = 512;  // streams that block a thread of their own
  size_t max_connections = 16384;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds header_timeout{15000};  // also a kept-alive connection's idle time
  std::chrono::milliseconds body_timeout{60000};
  std::chrono::milliseconds write_timeout{60000};
  size_t header_limit = 16 << 10;
  size_t stream_backlog = 1 << 20;  // bytes queued for one slow stream reader
};

enum class Access { kPublic, kCaller };

// Who is calling: `key` counts their requests in flight, `caller` is handed
// to handlers as HttpRequest::caller.
struct Principal {
  std::string key;
  std::any caller;
};

class HttpsServer {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // Sees a request without its body. An error is the answer (its code picks
  // the HTTP status through the error writer).
  using Authenticator = std::function<Result<Principal>(const HttpRequest&)>;
  // Applied to every response, refusals included (security headers).
  using Decorator = std::function<void(HttpResponse&)>;
  // Writes a refusal: why, and the HTTP status (0: the writer picks it from
  // the status code, as for the authenticator's refusals).
  using ErrorWriter = std::function<void(HttpResponse&, int http_status, const Status&)>;

  HttpsServer(HttpsServerOptions options, Logger* log);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // `pattern` must match the whole path (ECMAScript regex); its groups are
  // HttpRequest::matches. Set routes and hooks before Start().
  void Route(std::string method, const std::string& pattern, Access access, size_t body_limit, Handler handler);
  void SetAuthenticator(Authenticator a);
  void SetDecorator(Decorator d);
  void SetErrorWriter(ErrorWriter w);

  // Binds the port (port() is known after), serving nothing yet.
  [[nodiscard]] Status Bind();
  [[nodiscard]] Status Start();
  // Ends every connection and waits for handlers and streams to return.
  void Stop();
  int port() const;
  // Connections open now (for tests and metrics).
  size_t connections() const;

  class Impl;  // opaque outside https_*.cc, which share it with their sessions

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cifs
