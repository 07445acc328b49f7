// REST: POST /api/v1/SERVICE/METHOD with the request as JSON answers the
// response as JSON; server-streaming methods answer one JSON object per line
// (application/x-ndjson) as messages come. GET /api/v1 lists the methods.
#include <nlohmann/json.hpp>

#include "farmserver/http/http_server.h"
#include "farmserver/http/responses.h"
#include "farmserver/reapi/limits.h"
#include "farmserver/web/openapi.h"

namespace cifs {

void HttpServer::ApiRoutes() {
  transport_.Route("GET", "/api/v1", Access::kCaller, kSmallBody, [this](const HttpRequest&, HttpResponse& res) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : gateway_->methods()) {
      list.push_back({{"path", "/api/v1/" + m.service + "/" + m.name},
                      {"request", m.input->full_name()},
                      {"response", m.output->full_name()},
                      {"streaming", m.server_streaming}});
    }
    SendJson(res, nlohmann::json{{"methods", list}}.dump());
  });

  // What the gateway serves, described (made from the protos at build time).
  transport_.Route("GET", "/api/v1/openapi.json", Access::kCaller, kSmallBody,
                   [](const HttpRequest&, HttpResponse& res) { SendJson(res, std::string(BuiltOpenApiDocument())); });

  transport_.Route("GET", "/api/v1/session", Access::kCaller, kSmallBody, [](const HttpRequest& req, HttpResponse& res) {
    const Caller& caller = CallerOf(req);
    nlohmann::json j = {{"user", caller.identity.name},
                        {"role", RoleName(caller.identity.role)},
                        {"via", caller.by_cookie ? "session" : "certificate"}};
    if (caller.by_cookie) {
      j["csrf_token"] = caller.csrf;
      j["expires_ms"] = caller.expires_ms;
    }
    SendJson(res, j.dump());
  });

  transport_.Route(
      "POST", R"(/api/v1/([A-Za-z]{1,64})/([A-Za-z]{1,64}))", Access::kCaller, kMaxMessageBytes,
      [this](const HttpRequest& req, HttpResponse& res) {
        const Caller& caller = CallerOf(req);
        if (Status s = request_auth_.CheckChange(caller, req); !s.ok()) return SendError(res, s);
        const RpcMethod* m = gateway_->Find(req.matches[1], req.matches[2]);
        if (m == nullptr) {
          return SendError(res, Status::NotFound("no method " + req.matches[1] + "/" + req.matches[2] +
                                                 " (GET /api/v1 lists them)"));
        }
        if (!m->server_streaming) {
          std::string out;
          grpc::Status s = gateway_->Call(*m, req.body, caller.identity, &out);
          if (!s.ok()) return SendError(res, s);
          return SendJson(res, out);
        }
        // The first message (or the error) decides the status line; the rest
        // streams as it comes.
        std::shared_ptr<RpcGateway::Stream> stream = gateway_->Open(*m, req.body, caller.identity);
        auto first = std::make_shared<std::string>();
        if (!stream->Next(first.get())) {
          grpc::Status s = stream->Finish();
          if (!s.ok()) return SendError(res, s);
          res.SetContent("", "application/x-ndjson");
          return;
        }
        res.SetHeader("Cache-Control", "no-store");
        res.content_type = "application/x-ndjson";
        res.stream = [stream, first](StreamSink& sink) {
          if (!sink.Write(std::move(*first) + "\n")) return stream->Cancel();
          std::string json;
          while (stream->Next(&json)) {
            if (!sink.Write(json + "\n")) return stream->Cancel();
          }
          grpc::Status s = stream->Finish();
          if (!s.ok()) (void)sink.Write(ErrorJson(s) + "\n");
        };
      });
}

}  // namespace cifs
