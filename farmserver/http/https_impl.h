// Inside HttpsServer: the server's shared state (Impl) and one connection
// (Session). Not for use outside https_*.cc.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <vector>

#include "common/task_pool.h"
#include "farmserver/http/https_server.h"

namespace cifs {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct RouteEntry {
  std::string method;
  std::regex pattern;
  Access access;
  size_t body_limit;
  HttpsServer::Handler handler;
};

class HttpsServer::Impl {
 public:
  Impl(HttpsServerOptions options, Logger* log);

  const HttpsServerOptions& options() const { return options_; }
  Logger* log() const { return log_; }
  bool stopping() const { return stopping_; }

  // The route for a request, or the HTTP status refusing it (404, 405).
  const RouteEntry* FindRoute(HttpRequest* req, int* refusal) const;
  // A refusal as a complete response.
  HttpResponse Refusal(int http_status, const Status& why) const;
  void Decorate(HttpResponse& res) const;
  Result<Principal> Authenticate(const HttpRequest& req) const;

  // Admission: a slot for one caller's request in flight, false if they
  // have too many; given back by ReleaseCaller.
  bool AdmitCaller(const std::string& key);
  void ReleaseCaller(const std::string& key);
  bool Submit(std::function<void()> task) { return handlers_->TrySubmit(std::move(task)); }
  // Runs a blocking stream on a thread of its own, or false when too many run.
  bool StartThreadStream(std::function<void()> body);

  Status Bind();
  Status Start();
  void Stop();
  void Accept();

  std::vector<RouteEntry> routes;
  Authenticator authenticate;
  Decorator decorate;
  ErrorWriter error_writer;
  std::atomic<size_t> connections{0};
  int port = 0;

 private:
  HttpsServerOptions options_;
  Logger* log_;
  net::io_context ioc_;
  net::ssl::context ssl_{net::ssl::context::tls_server};
  net::ip::tcp::acceptor acceptor_{ioc_};
  std::vector<std::thread> io_threads_;
  std::unique_ptr<TaskPool> handlers_;
  std::atomic<bool> stopping_{false};

  std::mutex callers_mu_;
  std::map<std::string, int> in_flight_;

  std::mutex streams_mu_;
  std::condition_variable streams_cv_;
  int thread_streams_ = 0;
};

// One TLS connection: its requests one after another, then possibly one
// streamed response. Everything it does on the socket runs on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpsServer::Impl* server, net::ip::tcp::socket socket, net::ssl::context& ssl);
  ~Session();
  void Run();

  // For StreamSink, from any thread.
  bool Enqueue(std::string data, bool wait);
  bool open() const;
  void EndStream();

 private:
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void Admit();
  void ReadBody();
  void OnBody(beast::error_code ec);
  void Dispatch();
  void Respond(HttpResponse res, bool keep_alive);
  void StartStream(HttpResponse res);
  void WriteNext();
  void WatchForClose();
  // Gives back the caller's in-flight slot once their request is answered.
  void ReleaseCallerSlot();
  void Shutdown();
  void Linger();
  void DrainSome(size_t drained);
  void Close();
  void Fail(beast::error_code ec, const char* what);
  // Refuses the request in hand; a connection whose body was not read
  // cannot carry another request, so it closes after.
  void Refuse(int http_status, const Status& why);

  HttpsServer::Impl* server_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::string peer_pem_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpRequest req_;
  const RouteEntry* route_ = nullptr;
  std::string caller_key_;
  bool body_read_ = false;
  std::unique_ptr<bhttp::response<bhttp::string_body>> res_;
  std::unique_ptr<bhttp::response<bhttp::empty_body>> head_;
  std::unique_ptr<bhttp::response_serializer<bhttp::empty_body>> head_sr_;
  char probe_ = 0;
  std::unique_ptr<std::array<char, 16384>> linger_buf_;

  // A streamed body's chunks, shared with producer threads.
  mutable std::mutex mu_;
  std::condition_variable room_;
  std::deque<std::string> out_;
  size_t backlog_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool ending_ = false;
};

}  // namespace cifs
