// REST: POST /api/v1/SERVICE/METHOD with the request as JSON answers the
// response as JSON; server-streaming methods answer one JSON object per line
// (application/x-ndjson) as messages come. GET /api/v1 lists the methods.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "farmserver/http/http_server.h"
#include "farmserver/http/responses.h"
#include "farmserver/web/openapi.h"

namespace cifs {

void HttpServer::ApiRoutes() {
  server_->Get("/api/v1", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Authenticated(req, res)) return;
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
  server_->Get("/api/v1/openapi.json", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Authenticated(req, res)) return;
    SendJson(res, std::string(BuiltOpenApiDocument()));
  });

  server_->Get("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
    auto caller = Authenticated(req, res);
    if (!caller) return;
    nlohmann::json j = {{"user", caller->identity.name},
                        {"role", RoleName(caller->identity.role)},
                        {"via", caller->by_cookie ? "session" : "certificate"}};
    if (caller->by_cookie) {
      j["csrf_token"] = caller->csrf;
      j["expires_ms"] = caller->expires_ms;
    }
    SendJson(res, j.dump());
  });

  server_->Post(R"(/api/v1/([A-Za-z]{1,64})/([A-Za-z]{1,64}))", [this](const httplib::Request& req,
                                                                       httplib::Response& res) {
    auto caller = Authenticated(req, res);
    if (!caller) return;
    if (Status s = request_auth_.CheckChange(*caller, req); !s.ok()) return SendError(res, s);
    const RpcMethod* m = gateway_->Find(req.matches[1], req.matches[2]);
    if (m == nullptr) {
      return SendError(res, Status::NotFound("no method " + std::string(req.matches[1]) + "/" +
                                             std::string(req.matches[2]) + " (GET /api/v1 lists them)"));
    }
    if (!m->server_streaming) {
      std::string out;
      grpc::Status s = gateway_->Call(*m, req.body, caller->identity, &out);
      if (!s.ok()) return SendError(res, s);
      return SendJson(res, out);
    }
    auto slot = StreamSlot();
    if (!slot) return SendError(res, Status::Unavailable("too many streams are open on this farm; try again"));
    // The first message (or the error) decides the status line; the rest
    // streams as it comes.
    std::shared_ptr<RpcGateway::Stream> stream = gateway_->Open(*m, req.body, caller->identity);
    auto first = std::make_shared<std::string>();
    if (!stream->Next(first.get())) {
      grpc::Status s = stream->Finish();
      if (!s.ok()) return SendError(res, s);
      res.set_content("", "application/x-ndjson");
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider("application/x-ndjson", [stream, first, slot](size_t, httplib::DataSink& sink) {
      std::string line = std::move(*first) + "\n";
      if (!sink.write(line.data(), line.size())) return false;
      std::string json;
      while (stream->Next(&json)) {
        json += "\n";
        if (!sink.write(json.data(), json.size())) {
          stream->Cancel();
          return false;
        }
      }
      grpc::Status s = stream->Finish();
      if (!s.ok()) {
        std::string err = ErrorJson(s) + "\n";
        sink.write(err.data(), err.size());
      }
      sink.done();
      return true;
    });
  });
}

}  // namespace cifs
