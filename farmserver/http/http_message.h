// A request and a response as the farm's HTTPS handlers see them, apart from
// the transport that carries them (https_server.h).
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cifs {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The client certificate of the TLS connection as PEM, or "" when none
  // was offered (it was verified against the client CA when it was).
  std::string peer_cert_pem;
  // The route pattern's groups, [0] being the whole path.
  std::vector<std::string> matches;
  // Who is calling, as the server's authenticate hook found it from the
  // headers (empty on public routes).
  std::any caller;

  // The first value of a header (names compare case-insensitively), or "".
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  std::vector<std::string_view> HeaderValues(std::string_view name) const;
  // A query parameter, percent-decoded, or "".
  std::string Param(std::string_view name) const;
};

// Where a streamed body goes. Writes are queued for the connection and
// written in order; a producer that runs ahead of a slow client waits for
// room (Write) or learns there is none (TryWrite).
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // False once the client has gone (the stream is then over).
  virtual bool Write(std::string data) = 0;
  // Never blocks: false if the client has gone or its backlog is full.
  virtual bool TryWrite(std::string data) = 0;
  virtual bool open() const = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // A body written as it comes instead of `body`, chunked. `stream` runs on a
  // thread of its own once the header is out and may block (a gRPC stream it
  // reads); `attach` hands the sink to something that writes when it has
  // news, holding no thread. The stream ends when the function returns or
  // the last holder of the sink lets it go.
  std::function<void(StreamSink&)> stream;
  std::function<void(std::shared_ptr<StreamSink>)> attach;

  void SetHeader(std::string name, std::string value);
  void SetContent(std::string content, std::string type);
  void Redirect(std::string location, int code);
};

}  // namespace cifs
