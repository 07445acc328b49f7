// Caller authentication for every farm port. TLS already verified the client
// certificate against the farm CA; here we read the user and role out of it
// and refuse revoked users. Services then check the role they need.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/grpc_status.h"
#include "common/status.h"
#include "farmserver/build_scopes.h"
#include "identity/identity.h"
#include "metadata/metadata_store.h"

namespace cifs {

class Authenticator {
 public:
  // Metadata the web side's in-process calls carry: it has authenticated
  // the browser or REST client itself and names who it acts for. Honoured
  // only with this process's gateway key and only on calls without a client
  // certificate (the network ports require one, so only in-process calls).
  static constexpr const char* kGatewayKey = "cifs-gateway-key";
  static constexpr const char* kGatewayUser = "cifs-gateway-user";
  static constexpr const char* kGatewayRole = "cifs-gateway-role";
  static constexpr const char* kGatewayIssued = "cifs-gateway-issued-ms";
  // Behind a cluster's HAProxy the TLS peer is the proxy; it passes on the
  // caller's verified certificate (base64 DER) in this header (gRPC
  // metadata key). Honoured only from a peer with the proxy role.
  static constexpr const char* kForwardedCert = "x-cifs-client-cert";

  // `builds` holds the credentials of running farm builds: a builder
  // certificate is accepted only while its build is there. `changed` moves
  // whenever a revocation is stored, by this node or another.
  Authenticator(RevocationStore* revocations, ChangeSignal* changed, const BuildScopes* builds);

  // Loads revocations from the store; done again whenever `changed` moved.
  [[nodiscard]] Status Load();
  // The CA a forwarded certificate must chain to (the farm's client CA).
  void SetClientCa(std::string ca_pem) { client_ca_pem_ = std::move(ca_pem); }

  // Who calls on a TLS connection whose peer is `peer_pem`: the peer
  // itself, or, when the peer is the farm's proxy, the caller whose
  // certificate it forwards (`forwarded`: the header's value, null when
  // absent), verified against the CA and revocations again. nullopt: the
  // proxy forwards no certificate (a browser that signs in with a cookie).
  // A forwarded certificate from any peer but the proxy is refused, and so
  // is a cluster node's peer certificate unless `nodes` is kAccept (only the
  // cache shard service takes it).
  enum class Nodes { kRefuse, kAccept };
  Result<std::optional<Identity>> FromPeer(const std::string& peer_pem, const std::string* forwarded,
                                           Nodes nodes = Nodes::kRefuse);
  // The same for a gRPC call: its peer's certificate and its metadata.
  Result<std::optional<Identity>> FromGrpcPeer(const grpc::string_ref& peer_pem,
                                               const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                               Nodes nodes = Nodes::kRefuse);

  // The identity in a PEM client certificate, unless revoked (or, for a
  // build's credential, unless its build has ended).
  Result<Identity> FromPem(const std::string& pem);
  // `id` unless its user was revoked after it was issued.
  Result<Identity> CheckRevoked(Identity id);
  // Adds the metadata an in-process call on behalf of `id` carries.
  void ActAs(const Identity& id, grpc::ClientContext* ctx) const;
  // The identity of a gRPC caller that is a user; a build's credential is
  // refused, so only services that ask for it accept it.
  Result<Identity> FromContext(const grpc::ServerContextBase* ctx);
  // A user or a running build (the cache and the build-event service).
  Result<Identity> FromContextOrBuilder(const grpc::ServerContextBase* ctx);
  // The same or one of the farm's workers (the CAS: a worker reads inputs
  // and writes outputs there).
  Result<Identity> FromContextForCas(const grpc::ServerContextBase* ctx);
  // One of the farm's workers, and nobody else (cifs.v1.Workers).
  Result<Identity> RequireWorker(const grpc::ServerContextBase* ctx);
  // A cluster node's peer certificate, calling directly (the cache shard
  // service); every other caller is refused.
  Result<Identity> RequireNode(const grpc::ServerContextBase* ctx);
  // Same, and requires at least `role`.
  Result<Identity> Require(const grpc::ServerContextBase* ctx, Role role);

  Status Revoke(const std::string& name, const std::string& by, int64_t* revoked_before_ms);

 private:
  static constexpr size_t kMaxParsedCertificates = 4096;

  Result<Identity> FromGateway(const grpc::ServerContextBase* ctx);
  // The TLS peer's certificate (PEM) of a gRPC call; nullopt in process.
  static std::optional<grpc::string_ref> PeerPem(const grpc::ServerContextBase* ctx);
  // The PEM of a forwarded certificate that chains to the CA.
  Result<std::string> VerifyForwarded(const std::string& forwarded);

  RevocationStore* revocations_;
  ChangeSignal* changed_;
  const BuildScopes* builds_;
  std::string client_ca_pem_;
  std::string gateway_key_;  // random per process
  std::mutex mu_;
  uint64_t loaded_generation_ = 0;  // of `changed_`, when revoked_before_ms_ was read
  std::unordered_map<std::string, int64_t> revoked_before_ms_;
  std::unordered_map<std::string, Identity> parsed_;  // PEM -> identity; revocation is checked per call
  struct Verified {
    std::string pem;
    int64_t at_ms;
  };
  // Forwarded certificates (base64 DER) that chained to the CA lately.
  std::unordered_map<std::string, Verified> verified_;
};

// Runs for every gRPC call before any handler: refuses calls whose
// certificate carries no cifs identity or belongs to a revoked user.
class CertificateAuthProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit CertificateAuthProcessor(Authenticator* auth) : auth_(auth) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata, OutputMetadata* response_metadata) override;

 private:
  Authenticator* auth_;
};


}  // namespace cifs
