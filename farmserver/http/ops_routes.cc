// Health and Prometheus metrics, for any authenticated caller.
#include <sstream>

#include "farmserver/http/http_server.h"
#include "farmserver/http/responses.h"

namespace cifs {

void HttpServer::OpsRoutes() {
  transport_.Route("GET", "/healthz", Access::kCaller, kSmallBody, [this](const HttpRequest&, HttpResponse& res) {
    auto stats = store_->Stats();
    nlohmann::json j = {{"status", "ok"}, {"version", CIFS_VERSION}, {"blobs", stats.blobs}};
    SendJson(res, j.dump());
  });

  transport_.Route("GET", "/metrics", Access::kCaller, kSmallBody, [this](const HttpRequest&, HttpResponse& res) {
    auto s = store_->Stats();
    std::ostringstream o;
    auto line = [&](const char* name, const char* type, int64_t v) {
      o << "# TYPE " << name << " " << type << "\n" << name << " " << v << "\n";
    };
    line("cifs_cas_find_missing_calls_total", "counter", metrics_->cas_find_missing_calls);
    line("cifs_cas_find_missing_digests_total", "counter", metrics_->cas_find_missing_digests);
    line("cifs_cas_blobs_written_total", "counter", metrics_->cas_blobs_written);
    line("cifs_cas_bytes_written_total", "counter", metrics_->cas_bytes_written);
    line("cifs_cas_bytes_read_total", "counter", metrics_->cas_bytes_read);
    line("cifs_cas_writes_rejected_total", "counter", metrics_->cas_writes_rejected);
    line("cifs_ac_hits_total", "counter", metrics_->ac_hits);
    line("cifs_ac_misses_total", "counter", metrics_->ac_misses);
    line("cifs_ac_incomplete_total", "counter", metrics_->ac_incomplete);
    line("cifs_ac_updates_total", "counter", metrics_->ac_updates);
    line("cifs_bes_events_total", "counter", metrics_->bes_events);
    line("cifs_bes_invocations_total", "counter", metrics_->bes_invocations);
    line("cifs_auth_refused_total", "counter", metrics_->auth_refused);
    line("cifs_https_connections", "gauge", static_cast<int64_t>(transport_.connections()));
    line("cifs_https_change_streams", "gauge", static_cast<int64_t>(broadcaster_.streams()));
    line("cifs_store_blobs", "gauge", s.blobs);
    line("cifs_store_cache_bytes", "gauge", s.cache_bytes);
    line("cifs_store_pinned_bytes", "gauge", s.pinned_bytes);
    line("cifs_store_cache_limit_bytes", "gauge", s.cache_limit_bytes);
    line("cifs_store_evicted_blobs_total", "counter", s.evicted_blobs);
    line("cifs_store_damaged_blobs_total", "counter", s.damaged_blobs);
    res.SetContent(o.str(), "text/plain; version=0.0.4");
  });
}

}  // namespace cifs
