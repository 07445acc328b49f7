// Who a caller is. The farm's CA puts the user name in the certificate's
// common name and the role in its organizational unit; nothing else is trusted.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cifs {

// kBuilder is the farm's own identity for the Bazel it runs: below every user
// role, it may use the cache and report builds the farm started, nothing else.
// kProxy is a cluster's HAProxy: it may only forward the certificate of the
// caller behind it and has no rights of its own.
// kNode is a cluster node calling another node's share of the cache
// (cifs.v1.CacheShard); it may do nothing else.
// kWorker is a remote-execution worker the farm started: it may take actions
// (cifs.v1.Workers) and read and write the CAS, nothing else.
enum class Role { kWorker = -4, kNode = -3, kProxy = -2, kBuilder = -1, kDev = 0, kLead = 1, kAdmin = 2 };

const char* RoleName(Role r);
Result<Role> ParseRole(const std::string& s);
// Admin can do everything a lead can, a lead everything a dev can.
inline bool RoleAtLeast(Role have, Role need) { return static_cast<int>(have) >= static_cast<int>(need); }

struct Identity {
  std::string name;
  Role role = Role::kDev;
  int64_t not_before_ms = 0;
  int64_t issued_ms = 0;  // exact issue time from the serial; revocation compares it
  std::string serial;         // hex
};

// Parses a PEM client certificate (as gRPC hands it to the server).
Result<Identity> IdentityFromPem(const std::string& pem);

// The PEM of a DER certificate (as a proxy forwards it, base64-decoded)
// that chains to `ca_pem` and is valid now; Unauthenticated otherwise.
Result<std::string> VerifiedCertificatePem(const std::string& der, const std::string& ca_pem);

// A certificate as PEM text.
std::string CertificatePem(X509* cert);

// User names become file names and certificate subjects: keep them boring.
Status ValidateUserName(const std::string& name);

}  // namespace cifs
