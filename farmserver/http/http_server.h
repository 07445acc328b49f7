// The farm's HTTPS side (mutual TLS like the gRPC port): health check,
// Prometheus metrics and a plain build page that --bes_results_url links to.
// The web UI proper grows here.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/log.h"
#include "farmserver/auth.h"
#include "farmserver/metrics.h"
#include "metadata/metadata_store.h"
#include "store/content_store.h"

namespace httplib {
class SSLServer;
}

namespace cifs {

struct HttpServerOptions {
  std::string listen;
  int port = 0;
  std::string cert_file, key_file, client_ca_file;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Authenticator* auth, MetadataStore* metadata, ContentStore* store,
             Metrics* metrics, Logger* log);
  ~HttpServer();

  // Binds and starts serving on a thread; the bound port is in port().
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  void Routes();

  HttpServerOptions options_;
  Authenticator* auth_;
  MetadataStore* metadata_;
  ContentStore* store_;
  Metrics* metrics_;
  Logger* log_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cifs
