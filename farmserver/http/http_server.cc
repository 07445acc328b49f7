#include "farmserver/http/http_server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "farmserver/http/responses.h"

namespace cifs {
namespace {

// Gives back its stream's slot when the last copy of it goes.
class StreamCount {
 public:
  explicit StreamCount(std::atomic<int>* open) : open_(open) {}
  ~StreamCount() { open_->fetch_sub(1); }
  StreamCount(const StreamCount&) = delete;
  StreamCount& operator=(const StreamCount&) = delete;

 private:
  std::atomic<int>* open_;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, Authenticator* auth, WebSessions* sessions, ChangeSignal* changes,
                       ContentStore* store, Metrics* metrics, Logger* log)
    : options_(std::move(options)),
      auth_(auth),
      sessions_(sessions),
      request_auth_(auth, sessions),
      changes_(changes),
      store_(store),
      metrics_(metrics),
      log_(log) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Bind() {
  const HttpServerOptions& o = options_;
  server_ = std::make_unique<httplib::SSLServer>([&o](SSL_CTX& ctx) {
    if (SSL_CTX_use_certificate_chain_file(&ctx, o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(&ctx, o.client_ca_file.c_str(), nullptr) != 1) {
      return false;
    }
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(o.client_ca_file.c_str()));
    // A certificate is optional (browsers sign in with a cookie instead) and
    // verified against the farm CA when one is offered.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    // With peer verification on, OpenSSL refuses to resume a TLS session
    // unless sessions are tied to a context: browsers resume on every new
    // connection, and each of those failed the handshake without this.
    static constexpr unsigned char kSessionContext[] = "cifs-https";
    SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof kSessionContext - 1);
    return true;
  });
  if (!server_->is_valid()) return Status::Internal("cannot set up HTTPS with " + options_.cert_file);
  // httplib's default shares the port (SO_REUSEPORT) with any other process
  // of this user; like the gRPC port, a taken port must fail to bind.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  int threads = options_.threads;
  // httplib takes ownership of the queue it is handed.
  server_->new_task_queue = [threads] { return std::make_unique<httplib::ThreadPool>(threads).release(); };
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.listen);
  } else {
    port_ = server_->bind_to_port(options_.listen, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return Status::Unavailable("cannot listen on " + options_.listen + ":" + std::to_string(options_.port));
  }
  return Status::Ok();
}

Status HttpServer::Serve(const RpcGateway* gateway) {
  gateway_ = gateway;
  server_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    // Nothing the farm serves may run script from elsewhere, be framed, or
    // leak a sign-in link through Referer.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                   "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
  });
  OpsRoutes();
  ApiRoutes();
  WebRoutes();
  EventRoutes();
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(streams_mu_);
    stopping_ = true;
    for (auto* ctx : streams_) ctx->TryCancel();
  }
  streams_cv_.notify_all();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Track(grpc::ClientContext* ctx) {
  std::lock_guard lock(streams_mu_);
  if (stopping_) ctx->TryCancel();
  streams_.insert(ctx);
}

void HttpServer::Untrack(grpc::ClientContext* ctx) {
  std::lock_guard lock(streams_mu_);
  streams_.erase(ctx);
}

bool HttpServer::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(streams_mu_);
  streams_cv_.wait_for(lock, d, [&] { return stopping_.load(); });
  return !stopping_;
}

std::shared_ptr<void> HttpServer::StreamSlot() {
  const int max_streams = options_.threads * 3 / 4;
  if (open_streams_.fetch_add(1) >= max_streams) {
    open_streams_.fetch_sub(1);
    return nullptr;
  }
  return std::make_shared<StreamCount>(&open_streams_);
}

std::optional<Caller> HttpServer::Authenticated(const httplib::Request& req, httplib::Response& res) {
  auto caller = request_auth_.Authenticate(req);
  if (!caller.ok()) {
    metrics_->auth_refused++;
    SendError(res, caller.status());
    return std::nullopt;
  }
  return *caller;
}

}  // namespace cifs
