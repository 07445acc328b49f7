#include "farmserver/http/http_server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <sstream>

namespace cifs {

namespace {

std::string PeerPem(const httplib::Request& req) {
  if (!req.ssl) return {};
  X509* cert = SSL_get1_peer_certificate(req.ssl);
  if (!cert) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, len);
  BIO_free(bio);
  X509_free(cert);
  return pem;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, Authenticator* auth, MetadataStore* metadata, ContentStore* store,
                       Metrics* metrics, Logger* log)
    : options_(std::move(options)), auth_(auth), metadata_(metadata), store_(store), metrics_(metrics), log_(log) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  server_ = std::make_unique<httplib::SSLServer>(options_.cert_file.c_str(), options_.key_file.c_str(),
                                                 options_.client_ca_file.c_str());
  if (!server_->is_valid()) return Status::Internal("cannot set up HTTPS with " + options_.cert_file);
  Routes();
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.listen);
  } else {
    port_ = server_->bind_to_port(options_.listen, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return Status::Unavailable("cannot listen on " + options_.listen + ":" + std::to_string(options_.port));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Routes() {
  // TLS already required a certificate from our CA; this adds the identity
  // and revocation check every route needs.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto id = auth_->FromPem(PeerPem(req));
    if (!id.ok()) {
      metrics_->auth_refused++;
      res.status = 401;
      res.set_content(id.status().message() + "\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto stats = store_->Stats();
    nlohmann::json j = {{"status", "ok"}, {"version", CIFS_VERSION}, {"blobs", stats.blobs}};
    res.set_content(j.dump() + "\n", "application/json");
  });

  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
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
    line("cifs_store_blobs", "gauge", s.blobs);
    line("cifs_store_cache_bytes", "gauge", s.cache_bytes);
    line("cifs_store_pinned_bytes", "gauge", s.pinned_bytes);
    line("cifs_store_cache_limit_bytes", "gauge", s.cache_limit_bytes);
    line("cifs_store_evicted_blobs_total", "counter", s.evicted_blobs);
    res.set_content(o.str(), "text/plain; version=0.0.4");
  });

  server_->Get(R"(/builds/([A-Za-z0-9_.-]{1,128}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto id = auth_->FromPem(PeerPem(req));
    auto b = metadata_->GetBuild(req.matches[1]);
    if (!b.ok() || !b->has_value() ||
        ((*b)->user() != id->name && !RoleAtLeast(id->role, Role::kLead))) {
      res.status = 404;
      res.set_content("no such build\n", "text/plain");
      return;
    }
    const auto& build = **b;
    auto log = metadata_->ReadBuildLog(build.id(), 0, 4 << 20);
    std::ostringstream o;
    o << "<!doctype html><meta charset=utf-8><title>build " << HtmlEscape(build.id()) << "</title>"
      << "<h1>bazel " << HtmlEscape(build.command()) << "</h1><p>user " << HtmlEscape(build.user())
      << " &middot; " << (build.finished() ? HtmlEscape(build.exit_name()) : std::string("running")) << "</p><ul>";
    for (const auto& t : build.targets()) {
      o << "<li>" << HtmlEscape(t.label()) << " " << HtmlEscape(t.test_status().empty()
                                                                    ? (t.built() ? "built" : "not built")
                                                                    : t.test_status())
        << "</li>";
    }
    o << "</ul><pre>" << HtmlEscape(log.ok() ? *log : std::string()) << "</pre>";
    res.set_content(o.str(), "text/html; charset=utf-8");
  });
}

}  // namespace cifs
