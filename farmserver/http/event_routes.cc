// Live pages, as server-sent events.
//   GET /events/builds/ID: one build: `build` events (its record: progress,
//     targets, result) and `log` events (console bytes, base64, with their
//     offset). Each log event's id is the log offset after it, so a browser
//     that reconnects (EventSource sends Last-Event-ID) resumes exactly where
//     it left off. `end` closes it.
//   GET /events/changes: a `change` event whenever builds, workspaces or pull
//     requests changed (at most two a second); pages then fetch what they
//     show again through the REST API, with the caller's rights.
#include <httplib.h>
#include <openssl/evp.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cifs/v1/cifs.grpc.pb.h"
#include "farmserver/http/http_server.h"

#include "common/base64.h"
#include "farmserver/http/responses.h"

namespace cifs {
namespace {

bool SendEvent(httplib::DataSink& sink, const char* event, const std::string& data, const std::string& id = "") {
  std::string msg;
  if (!id.empty()) msg += "id: " + id + "\n";
  msg += std::string("event: ") + event + "\ndata: " + data + "\n\n";
  return sink.write(msg.data(), msg.size());
}

int64_t ResumeOffset(const httplib::Request& req) {
  std::string v = req.get_header_value("Last-Event-ID");
  if (v.empty()) v = req.get_param_value("offset");
  try {
    int64_t n = v.empty() ? 0 : std::stoll(v);
    return n < 0 ? 0 : n;
  } catch (...) {
    return 0;
  }
}

}  // namespace

void HttpServer::EventRoutes() {
  server_->Get(R"(/events/builds/([A-Za-z0-9_.-]{1,128}))", [this](const httplib::Request& req,
                                                                  httplib::Response& res) {
    auto caller = Authenticated(req, res);
    if (!caller) return;
    const RpcGateway* gw = gateway_;
    Identity who = caller->identity;
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
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    auto slot = StreamSlot();
    if (!slot) return SendError(res, Status::Unavailable("too many live pages are open on this farm; retrying"));
    res.set_chunked_content_provider("text/event-stream", [this, slot, gw, who, id, first, offset, fetch](
                                                              size_t, httplib::DataSink& sink) mutable {
      std::string last = RpcGateway::ToJson(*first);
      if (!SendEvent(sink, "build", last)) return false;
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
      if (stopping()) return false;
      if (!done.ok() && done.error_code() != grpc::StatusCode::CANCELLED) {
        SendEvent(sink, "error", ErrorJson(done));
      }
      refresh();
      SendEvent(sink, "end", "{}");
      sink.done();
      return true;
    });
  });

  server_->Get("/events/changes", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Authenticated(req, res)) return;
    auto slot = StreamSlot();
    if (!slot) return SendError(res, Status::Unavailable("too many live pages are open on this farm; retrying"));
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider("text/event-stream", [this, slot](size_t, httplib::DataSink& sink) {
      uint64_t seen = changes_->Generation();
      if (!SendEvent(sink, "change", R"({"generation":)" + std::to_string(seen) + "}")) return false;
      auto quiet_since = std::chrono::steady_clock::now();
      while (!stopping()) {
        uint64_t now = changes_->WaitForChange(seen, std::chrono::seconds(1));
        if (now > seen) {
          seen = now;
          if (!SendEvent(sink, "change", R"({"generation":)" + std::to_string(seen) + "}")) return false;
          quiet_since = std::chrono::steady_clock::now();
          if (!Pause(std::chrono::milliseconds(500))) break;  // a burst of changes is one event
        } else if (std::chrono::steady_clock::now() - quiet_since > std::chrono::seconds(15)) {
          // A comment now and then finds a closed connection (the write fails).
          if (!sink.write(": keep-alive\n\n", 14)) return false;
          quiet_since = std::chrono::steady_clock::now();
        }
      }
      return false;
    });
  });
}

}  // namespace cifs
