// Live pages, as server-sent events.
//   GET /events/builds/ID: one build: `build` events (its record: progress,
//     targets, result) and `log` events (console bytes, base64, with their
//     offset). Each log event's id is the log offset after it, so a browser
//     that reconnects (EventSource sends Last-Event-ID) resumes exactly where
//     it left off. `end` closes it.
//   GET /events/changes: a `change` event whenever builds, workspaces or pull
//     requests changed (at most two a second); pages then fetch what they
//     show again through the REST API, with the caller's rights.
#include <openssl/evp.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cifs/v1/cifs.grpc.pb.h"
#include "farmserver/http/http_server.h"

#include "common/base64.h"
#include "farmserver/http/responses.h"

namespace cifs {
namespace {

bool SendEvent(StreamSink& sink, const char* event, const std::string& data, const std::string& id = "") {
  std::string msg;
  if (!id.empty()) msg += "id: " + id + "\n";
  msg += std::string("event: ") + event + "\ndata: " + data + "\n\n";
  return sink.Write(std::move(msg));
}

int64_t ResumeOffset(const HttpRequest& req) {
  std::string v = req.Header("Last-Event-ID");
  if (v.empty()) v = req.Param("offset");
  try {
    int64_t n = v.empty() ? 0 : std::stoll(v);
    return n < 0 ? 0 : n;
  } catch (...) {
    return 0;
  }
}

}  // namespace

void HttpServer::EventRoutes() {
  transport_.Route("GET", R"(/events/builds/([A-Za-z0-9_.-]{1,128}))", Access::kCaller, kSmallBody,
                   [this](const HttpRequest& req, HttpResponse& res) {
    const RpcGateway* gw = gateway_;
    Identity who = CallerOf(req).identity;
    std::string id = req.matches[1];
    auto fetch = [gw, who, id](v1::Build* b) {
      grpc::ClientContext ctx;
      gw->ActAs(who, &ctx);
      v1::GetBuildRequest r;
      r.set_id(id);
      return v1::Builds::NewStub(gw->channel())
          ->GetBuild(&ctx, r, b);
    };
    auto first = std::make_shared<v1::Build>();
    grpc::Status s = fetch(first.get());
    if (!s.ok()) return SendError(res, s);  // 404 for builds the caller may not see
    int64_t offset = ResumeOffset(req);
    res.SetHeader("Cache-Control", "no-store");
    res.SetHeader("X-Accel-Buffering", "no");
    res.content_type = "text/event-stream";
    // Follows a gRPC stream, so it blocks a thread of its own while open.
    res.stream = [this, gw, who, id, first, offset, fetch](StreamSink& sink) {
      std::string last = RpcGateway::ToJson(*first);
      if (!SendEvent(sink, "build", last)) return;
      grpc::ClientContext ctx;
      gw->ActAs(who, &ctx);
      v1::GetBuildLogRequest r;
      r.set_id(id);
      r.set_offset(offset);
      r.set_follow(!first->finished());
      auto stub = v1::Builds::NewStub(gw->channel());
      Track(&ctx);
      auto reader = stub->GetBuildLog(&ctx, r);
      v1::LogChunk chunk;
      auto refreshed = std::chrono::steady_clock::now();
      auto refresh = [&]() {
        v1::Build b;
        if (!fetch(&b).ok()) return true;
        std::string now = RpcGateway::ToJson(b);
        if (now == last) return true;
        last = std::move(now);
        return SendEvent(sink, "build", last);
      };
      while (reader->Read(&chunk)) {
        int64_t end = chunk.offset() + static_cast<int64_t>(chunk.data().size());
        nlohmann::json j = {{"offset", chunk.offset()}, {"data", Base64Encode(chunk.data())}};
        if (!SendEvent(sink, "log", j.dump(), std::to_string(end))) {
          ctx.TryCancel();
          break;
        }
        // Progress moves with the output; a few updates a second are plenty.
        if (std::chrono::steady_clock::now() - refreshed > std::chrono::milliseconds(250)) {
          refreshed = std::chrono::steady_clock::now();
          if (!refresh()) {
            ctx.TryCancel();
            break;
          }
        }
      }
      grpc::Status done = reader->Finish();
      Untrack(&ctx);
      if (stopping()) return;
      if (!done.ok() && done.error_code() != grpc::StatusCode::CANCELLED) {
        SendEvent(sink, "error", ErrorJson(done));
      }
      refresh();
      SendEvent(sink, "end", "{}");
    };
  });

  transport_.Route("GET", "/events/changes", Access::kCaller, kSmallBody, [this](const HttpRequest&, HttpResponse& res) {
    res.SetHeader("Cache-Control", "no-store");
    res.content_type = "text/event-stream";
    // No thread: the broadcaster writes to every open stream when there is news.
    res.attach = [this](std::shared_ptr<StreamSink> sink) { broadcaster_.Add(std::move(sink)); };
  });
}

}  // namespace cifs
