#include <openssl/ssl.h>

#include <cstdio>

#include "farmserver/http/https_impl.h"
#include "identity/identity.h"

namespace cifs {
namespace {

std::string PeerPem(SSL* ssl) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), X509_free);
  return cert ? CertificatePem(cert.get()) : std::string();
}

std::string Chunk(std::string_view data) {
  char size[24];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size, static_cast<size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

// The stream's end of a Session; the stream is over when the last holder
// lets it go.
class SessionSink : public StreamSink {
 public:
  explicit SessionSink(std::shared_ptr<Session> s) : session_(std::move(s)) {}
  ~SessionSink() override { session_->EndStream(); }
  bool Write(std::string data) override { return session_->Enqueue(std::move(data), true); }
  bool TryWrite(std::string data) override { return session_->Enqueue(std::move(data), false); }
  bool open() const override { return session_->open(); }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

Session::Session(HttpsServer::Impl* server, net::ip::tcp::socket socket, net::ssl::context& ssl)
    : server_(server), stream_(std::move(socket), ssl) {
  server_->connections++;
}

Session::~Session() {
  ReleaseCallerSlot();
  server_->connections--;
}

void Session::ReleaseCallerSlot() {
  if (caller_key_.empty()) return;
  server_->ReleaseCaller(caller_key_);
  caller_key_.clear();
}

void Session::Run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    beast::get_lowest_layer(self->stream_).expires_after(self->server_->options().handshake_timeout);
    self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
      if (ec) return self->Fail(ec, "handshake");
      self->peer_pem_ = PeerPem(self->stream_.native_handle());
      self->ReadHeader();
    });
  });
}

void Session::ReadHeader() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_->options().header_limit));
  // The route decides the body's limit once the headers are in.
  parser_->body_limit(boost::none);
  req_ = HttpRequest{};
  route_ = nullptr;
  body_read_ = false;
  beast::get_lowest_layer(stream_).expires_after(server_->options().header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Session::OnHeader(beast::error_code ec) {
  if (ec == bhttp::error::header_limit) {
    return Refuse(431, Status::InvalidArgument("request headers are larger than " +
                                               std::to_string(server_->options().header_limit) + " bytes"));
  }
  if (ec == bhttp::error::end_of_stream || ec == net::ssl::error::stream_truncated) return Close();
  if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
    return Refuse(400, Status::InvalidArgument("malformed HTTP request: " + ec.message()));
  }
  if (ec) return Fail(ec, "read header");

  const auto& msg = parser_->get();
  req_.method = std::string(msg.method_string());
  req_.target = std::string(msg.target());
  req_.path = req_.target.substr(0, req_.target.find('?'));
  for (const auto& field : msg) req_.headers.emplace_back(field.name_string(), field.value());
  req_.peer_cert_pem = peer_pem_;

  int refusal = 404;
  route_ = server_->FindRoute(&req_, &refusal);
  if (route_ == nullptr) {
    return Refuse(refusal, refusal == 405 ? Status::InvalidArgument(req_.method + " is not served at " + req_.path)
                                          : Status::NotFound("nothing is served at " + req_.path));
  }
  auto declared = parser_->content_length();
  if (declared && *declared > route_->body_limit) {
    return Refuse(413, Status::ResourceExhausted("request body of " + std::to_string(*declared) +
                                               " bytes is over this route's limit of " +
                                               std::to_string(route_->body_limit)));
  }
  if (route_->access == Access::kPublic) return ReadBody();
  // The caller may be looked up in a store: not on the event loop.
  auto self = shared_from_this();
  if (!server_->Submit([self] {
        Result<Principal> who = self->server_->Authenticate(self->req_);
        net::post(self->stream_.get_executor(), [self, who = std::move(who)]() mutable {
          if (!who.ok()) return self->Refuse(0, who.status());
          if (!self->server_->AdmitCaller(who->key)) {
            return self->Refuse(429, Status::ResourceExhausted("too many requests of yours are in progress; retry"));
          }
          self->caller_key_ = who->key;
          self->req_.caller = std::move(who->caller);
          self->ReadBody();
        });
      })) {
    Refuse(503, Status::Unavailable("the farm is busy; retry"));
  }
}

void Session::ReadBody() {
  if (parser_->is_done()) {
    body_read_ = true;
    return Dispatch();
  }
  parser_->body_limit(route_->body_limit);
  beast::get_lowest_layer(stream_).expires_after(server_->options().body_timeout);
  auto read = [self = shared_from_this()] {
    bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                      [self](beast::error_code ec, size_t) { self->OnBody(ec); });
  };
  if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
    head_ = std::make_unique<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    bhttp::async_write(stream_, *head_, [self = shared_from_this(), read](beast::error_code ec, size_t) {
      if (ec) return self->Fail(ec, "write 100-continue");
      read();
    });
    return;
  }
  read();
}

void Session::OnBody(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) {
    return Refuse(413, Status::ResourceExhausted("request body is over this route's limit of " +
                                               std::to_string(route_->body_limit) + " bytes"));
  }
  if (ec) return Fail(ec, "read body");
  body_read_ = true;
  Dispatch();
}

void Session::Dispatch() {
  req_.body = std::move(parser_->get().body());
  bool keep_alive = parser_->get().keep_alive();
  auto self = shared_from_this();
  if (!server_->Submit([self, keep_alive] {
        HttpResponse res;
        try {
          self->route_->handler(self->req_, res);
        } catch (const std::exception& e) {
          // A handler's bug must not take the connection's thread or leak
          // its text: the caller sees a plain internal error.
          self->server_->log()->Error("https_handler_failed", {{"path", self->req_.path}, {"error", e.what()}});
          res = self->server_->Refusal(500, Status::Internal("internal error; the farm's log has the details"));
        }
        net::post(self->stream_.get_executor(), [self, keep_alive, res = std::move(res)]() mutable {
          self->ReleaseCallerSlot();
          if (self->req_.method == "HEAD") {
            res.stream = nullptr;
            res.attach = nullptr;
          }
          if (res.stream || res.attach) return self->StartStream(std::move(res));
          self->Respond(std::move(res), keep_alive);
        });
      })) {
    Refuse(503, Status::Unavailable("the farm is busy; retry"));
  }
}

void Session::Refuse(int http_status, const Status& why) {
  if (http_status != 404 && http_status != 405 && http_status != 0) {
    server_->log()->Info("https_refused", {{"status", http_status}, {"path", req_.path}, {"reason", why.message()}});
  }
  ReleaseCallerSlot();
  bool keep_alive = body_read_ && parser_ && parser_->get().keep_alive();
  Respond(server_->Refusal(http_status, why), keep_alive);
}

void Session::Respond(HttpResponse res, bool keep_alive) {
  server_->Decorate(res);
  res_ = std::make_unique<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(res.status), 11);
  for (auto& [name, value] : res.headers) res_->insert(name, value);
  if (!res.body.empty() || res.status != 204) res_->set(bhttp::field::content_type, res.content_type);
  res_->body() = std::move(res.body);
  res_->keep_alive(keep_alive);
  res_->prepare_payload();
  if (req_.method == "HEAD") res_->body().clear();  // the length stays: what GET would send
  // No length on a 204: it has no body by definition (RFC 9110 8.6).
  if (res.status == 204) res_->erase(bhttp::field::content_length);
  beast::get_lowest_layer(stream_).expires_after(server_->options().write_timeout);
  bhttp::async_write(stream_, *res_, [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
    self->res_.reset();
    if (ec) return self->Fail(ec, "write");
    if (self->parser_ && !self->parser_->is_done()) return self->Linger();  // a body left unread
    if (!keep_alive || self->server_->stopping()) return self->Shutdown();
    self->ReadHeader();
  });
}

// A refused request's body may still be on its way. Closing with unread
// bytes resets the connection, and the client may lose the refusal it has
// not read yet; so stop sending, take (and drop) a little more for a
// moment, then close, as web servers' lingering close does.
void Session::Linger() {
  auto& tcp = beast::get_lowest_layer(stream_);
  beast::error_code ec;
  tcp.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  tcp.expires_after(std::chrono::seconds(1));
  linger_buf_ = std::make_unique<std::array<char, 16384>>();
  DrainSome(0);
}

void Session::DrainSome(size_t drained) {
  beast::get_lowest_layer(stream_).async_read_some(
      net::buffer(*linger_buf_), [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
        if (ec || drained + n > (1 << 20)) return self->Close();
        self->DrainSome(drained + n);
      });
}

void Session::StartStream(HttpResponse res) {
  server_->Decorate(res);
  head_ = std::make_unique<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(res.status), 11);
  for (auto& [name, value] : res.headers) head_->insert(name, value);
  head_->set(bhttp::field::content_type, res.content_type);
  head_->chunked(true);
  // A stream is the connection's last response: nothing reads the socket
  // for another request while it writes.
  head_->keep_alive(false);
  head_sr_ = std::make_unique<bhttp::response_serializer<bhttp::empty_body>>(*head_);
  beast::get_lowest_layer(stream_).expires_after(server_->options().write_timeout);
  auto self = shared_from_this();
  bhttp::async_write_header(stream_, *head_sr_, [self, res = std::move(res)](beast::error_code ec, size_t) mutable {
    if (ec) return self->Fail(ec, "write stream header");
    beast::get_lowest_layer(self->stream_).expires_never();
    self->WatchForClose();
    if (res.attach) {
      res.attach(std::make_shared<SessionSink>(self));
      return;
    }
    auto body = std::move(res.stream);
    if (!self->server_->StartThreadStream([self, body = std::move(body)] {
          SessionSink sink(self);
          body(sink);
        })) {
      // Too many blocking streams: end this one at once; EventSource and
      // scripts retry.
      self->EndStream();
    }
  });
}

// A streaming connection is not read for requests; reading it anyway learns
// at once that the client went (the read ends), so its producer stops.
void Session::WatchForClose() {
  stream_.async_read_some(net::buffer(&probe_, 1), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (!ec) return self->WatchForClose();
    self->Close();
  });
}

bool Session::Enqueue(std::string data, bool wait) {
  std::unique_lock lock(mu_);
  if (wait) {
    auto deadline = std::chrono::steady_clock::now() + server_->options().write_timeout;
    while (!closed_ && backlog_ > server_->options().stream_backlog && !server_->stopping()) {
      if (room_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200))) ==
              std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline) {
        break;
      }
    }
  }
  if (closed_ || ending_ || server_->stopping() || backlog_ > server_->options().stream_backlog) {
    bool gone = !closed_;
    lock.unlock();
    // A reader too slow to take its backlog is dropped.
    if (gone) net::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
    return false;
  }
  out_.push_back(Chunk(data));
  backlog_ += out_.back().size();
  if (!writing_) {
    writing_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->WriteNext(); });
  }
  return true;
}

bool Session::open() const {
  std::lock_guard lock(mu_);
  return !closed_ && !ending_;
}

void Session::EndStream() {
  std::lock_guard lock(mu_);
  if (closed_ || ending_) return;
  ending_ = true;
  out_.push_back("0\r\n\r\n");
  if (!writing_) {
    writing_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->WriteNext(); });
  }
}

void Session::WriteNext() {
  const std::string* front;
  {
    std::lock_guard lock(mu_);
    if (closed_ || out_.empty()) {
      writing_ = false;
      return;
    }
    front = &out_.front();  // stays put: only this strand pops
  }
  beast::get_lowest_layer(stream_).expires_after(server_->options().write_timeout);
  net::async_write(stream_, net::buffer(*front), [self = shared_from_this()](beast::error_code ec, size_t) {
    beast::get_lowest_layer(self->stream_).expires_never();
    if (ec) return self->Fail(ec, "write stream");
    bool done;
    {
      std::lock_guard lock(self->mu_);
      self->backlog_ -= std::min(self->backlog_, self->out_.front().size());
      self->out_.pop_front();
      done = self->ending_ && self->out_.empty();
    }
    self->room_.notify_all();
    if (done) return self->Close();  // framed by the last chunk; a read is pending (WatchForClose)
    self->WriteNext();
  });
}

// The end of a connection that answered in full: TLS close_notify, so a
// client reading to the end (HTTP/1.0, ab) sees a clean end rather than a
// truncation; bounded, since the client's own close_notify may never come.
void Session::Shutdown() {
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
  stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->Close(); });
}

void Session::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;  // out_ stays: a write in progress may still point into it
    backlog_ = 0;
  }
  room_.notify_all();
  beast::error_code ec;
  // No TLS close_notify here (Shutdown sends it when the answer was
  // complete): this also ends connections that failed or timed out.
  beast::get_lowest_layer(stream_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(stream_).close();
}

void Session::Fail(beast::error_code ec, const char* what) {
  if (ec != beast::error::timeout && ec != net::error::operation_aborted && ec != net::error::eof &&
      ec != net::ssl::error::stream_truncated) {
    server_->log()->Debug("https_connection_ended", {{"during", what}, {"error", ec.message()}});
  }
  Close();
}

}  // namespace cifs
