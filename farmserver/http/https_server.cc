#include "farmserver/http/https_server.h"

#include <fcntl.h>
#include <openssl/ssl.h>

#include "farmserver/http/https_impl.h"

namespace cifs {

HttpsServer::Impl::Impl(HttpsServerOptions options, Logger* log) : options_(std::move(options)), log_(log) {}

const RouteEntry* HttpsServer::Impl::FindRoute(HttpRequest* req, int* refusal) const {
  bool other_method = false;
  std::smatch m;
  // HEAD is GET without the body (Session::Respond drops it).
  const std::string method = req->method == "HEAD" ? "GET" : req->method;
  for (const RouteEntry& r : routes) {
    if (!std::regex_match(req->path, m, r.pattern)) continue;
    if (r.method != method) {
      other_method = true;
      continue;
    }
    req->matches.assign(m.begin(), m.end());
    return &r;
  }
  *refusal = other_method ? 405 : 404;
  return nullptr;
}

HttpResponse HttpsServer::Impl::Refusal(int http_status, const Status& why) const {
  HttpResponse res;
  if (error_writer) {
    error_writer(res, http_status, why);
  } else {
    res.SetContent(why.message() + "\n", "text/plain");
    res.status = http_status == 0 ? 500 : http_status;
  }
  if (res.status == 429 || res.status == 503) res.SetHeader("Retry-After", "1");
  return res;
}

void HttpsServer::Impl::Decorate(HttpResponse& res) const {
  if (decorate) decorate(res);
}

Result<Principal> HttpsServer::Impl::Authenticate(const HttpRequest& req) const {
  if (!authenticate) return Status::Unauthenticated("this server authenticates nobody");
  return authenticate(req);
}

bool HttpsServer::Impl::AdmitCaller(const std::string& key) {
  std::lock_guard lock(callers_mu_);
  int& n = in_flight_[key];
  if (n >= options_.max_per_caller) return false;
  ++n;
  return true;
}

void HttpsServer::Impl::ReleaseCaller(const std::string& key) {
  std::lock_guard lock(callers_mu_);
  auto it = in_flight_.find(key);
  if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
}

bool HttpsServer::Impl::StartThreadStream(std::function<void()> body) {
  {
    std::lock_guard lock(streams_mu_);
    if (stopping_ || thread_streams_ >= options_.max_thread_streams) return false;
    ++thread_streams_;
  }
  // Detached: Stop() waits for the count to come back to zero instead.
  std::thread([this, body = std::move(body)] {
    body();
    std::lock_guard lock(streams_mu_);
    --thread_streams_;
    streams_cv_.notify_all();
  }).detach();
  return true;
}

Status HttpsServer::Impl::Bind() {
  SSL_CTX* ctx = ssl_.native_handle();
  const HttpsServerOptions& o = options_;
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(ctx, o.client_ca_file.c_str(), nullptr) != 1) {
    return Status::Internal("cannot set up HTTPS with " + o.cert_file + ", " + o.key_file + " and " +
                            o.client_ca_file);
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(o.client_ca_file.c_str()));
  // A certificate is optional (browsers sign in with a cookie instead) and
  // verified against the client CA when one is offered.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // With peer verification on, OpenSSL refuses to resume a TLS session
  // unless sessions are tied to a context: browsers resume on every new
  // connection, and each of those failed the handshake without this.
  static constexpr unsigned char kSessionContext[] = "cifs-https";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);

  beast::error_code ec;
  auto address = net::ip::make_address(o.listen, ec);
  if (ec) return Status::InvalidArgument("cannot listen on '" + o.listen + "': " + ec.message());
  net::ip::tcp::endpoint ep(address, static_cast<unsigned short>(o.port));
  acceptor_.open(ep.protocol(), ec);
  // Not SO_REUSEPORT: like the gRPC port, a taken port must fail to bind.
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + o.listen + ":" + std::to_string(o.port) + ": " + ec.message());
  port = acceptor_.local_endpoint().port();
  return Status::Ok();
}

Status HttpsServer::Impl::Start() {
  handlers_ = std::make_unique<TaskPool>(options_.handler_threads, options_.max_waiting);
  Accept();
  for (int i = 0; i < options_.io_threads; ++i) io_threads_.emplace_back([this] { ioc_.run(); });
  return Status::Ok();
}

void HttpsServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping_) return;
    if (ec) {
      // Out of descriptors, typically: wait a little rather than spin.
      log_->Warn("https_accept_failed", {{"error", ec.message()}});
      auto timer = std::make_shared<net::steady_timer>(ioc_, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](beast::error_code) { Accept(); });
      return;
    }
    // Asio accepts without SOCK_CLOEXEC: a build or git the farm starts
    // would otherwise hold users' connections open (and could write to
    // them) after the farm has closed them.
    ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    // Answers are written whole; a small write after one (a TLS alert, a
    // chunk) must not wait for the client's delayed ACK (Nagle).
    socket.set_option(net::ip::tcp::no_delay(true), ec);
    if (connections.load() >= options_.max_connections) {
      socket.close(ec);
    } else {
      std::make_shared<Session>(this, std::move(socket), ssl_)->Run();
    }
    Accept();
  });
}

void HttpsServer::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  net::post(ioc_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  // Streams see the server stopping and return (their producers are told
  // by their owners); handlers finish what they are doing.
  {
    std::unique_lock lock(streams_mu_);
    streams_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return thread_streams_ == 0; });
  }
  if (handlers_) handlers_->Stop();
  ioc_.stop();
  for (auto& t : io_threads_) {
    if (t.joinable()) t.join();
  }
  io_threads_.clear();
}

HttpsServer::HttpsServer(HttpsServerOptions options, Logger* log)
    : impl_(std::make_unique<Impl>(std::move(options), log)) {}

HttpsServer::~HttpsServer() { Stop(); }

void HttpsServer::Route(std::string method, const std::string& pattern, Access access, size_t body_limit,
                        Handler handler) {
  impl_->routes.push_back({std::move(method), std::regex(pattern), access, body_limit, std::move(handler)});
}

void HttpsServer::SetAuthenticator(Authenticator a) { impl_->authenticate = std::move(a); }
void HttpsServer::SetDecorator(Decorator d) { impl_->decorate = std::move(d); }
void HttpsServer::SetErrorWriter(ErrorWriter w) { impl_->error_writer = std::move(w); }
Status HttpsServer::Bind() { return impl_->Bind(); }
Status HttpsServer::Start() { return impl_->Start(); }
void HttpsServer::Stop() { impl_->Stop(); }
int HttpsServer::port() const { return impl_->port; }
size_t HttpsServer::connections() const { return impl_->connections.load(); }

}  // namespace cifs
