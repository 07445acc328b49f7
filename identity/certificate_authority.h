// The farm's own certificate authority: creates the CA, the farm's server
// certificate and per-user client certificates. Keys are ECDSA P-256 in PKCS#8
// PEM (what both grpc++ and Bazel's Netty accept).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "identity/identity.h"

namespace cifs {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

class CertificateAuthority {
 public:
  // Creates a new CA in memory.
  static Result<CertificateAuthority> Create(const std::string& common_name, int days);
  static Result<CertificateAuthority> Load(const std::string& key_pem, const std::string& cert_pem);

  // Server certificate with DNS / IP subject alternative names.
  Result<KeyAndCert> IssueServer(const std::vector<std::string>& names, int days) const;
  // Client certificate for a user: CN=name, OU=role, clientAuth only.
  Result<KeyAndCert> IssueClient(const std::string& name, Role role, int days) const;

  const KeyAndCert& ca() const { return ca_; }

 private:
  KeyAndCert ca_;
};

}  // namespace cifs
