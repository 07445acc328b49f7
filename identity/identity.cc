#include "identity/identity.h"

#include "common/names.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace cifs {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kDev: return "dev";
    case Role::kLead: return "lead";
    case Role::kAdmin: return "admin";
    case Role::kBuilder: return "builder";
    case Role::kProxy: return "proxy";
    case Role::kNode: return "node";
    case Role::kWorker: return "worker";
  }
  return "dev";
}

Result<Role> ParseRole(const std::string& s) {
  if (s == "dev") return Role::kDev;
  if (s == "lead") return Role::kLead;
  if (s == "admin") return Role::kAdmin;
  if (s == "builder") return Role::kBuilder;
  if (s == "proxy") return Role::kProxy;
  if (s == "node") return Role::kNode;
  if (s == "worker") return Role::kWorker;
  return Status::InvalidArgument("unknown role '" + s + "' (expected dev, lead, admin, proxy or node)");
}

Status ValidateUserName(const std::string& name) { return ValidateName("user", name); }

Result<std::string> VerifiedCertificatePem(const std::string& der, const std::string& ca_pem) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return Status::Unauthenticated("the forwarded client certificate cannot be parsed");
  }
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())),
                                                BIO_free);
  int cas = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store.get(), ca);
    X509_free(ca);
    ++cas;
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  if (cas == 0) return Status::Internal("the farm's client CA cannot be read");
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return Status::Internal("cannot verify a certificate");
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    return Status::Unauthenticated(std::string("the forwarded client certificate is not valid: ") +
                                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return CertificatePem(cert.get());
}

std::string CertificatePem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(out.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

namespace {
std::string EntryText(X509_NAME* subject, int nid) {
  int idx = X509_NAME_get_index_by_NID(subject, nid, -1);
  if (idx < 0) return {};
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), len);
  OPENSSL_free(utf8);
  return out;
}
}  // namespace

Result<Identity> IdentityFromPem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                   X509_free);
  if (!cert) return Status::Unauthenticated("client certificate cannot be parsed");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  Identity id;
  id.name = EntryText(subject, NID_commonName);
  auto role = ParseRole(EntryText(subject, NID_organizationalUnitName));
  if (!role.ok()) return Status::Unauthenticated("client certificate carries no cifs role");
  id.role = *role;
  if (!ValidateUserName(id.name).ok()) return Status::Unauthenticated("client certificate carries no valid user name");
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &tm) == 1) {
    id.not_before_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  }
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
  if (bn) {
    char* hex = BN_bn2hex(bn);
    id.serial = hex;
    OPENSSL_free(hex);
    // Our CA puts the issue time (ms) in the serial's top 64 of 128 bits.
    if (BN_num_bytes(bn) > 8 && BN_num_bytes(bn) <= 16) {
      unsigned char bytes[16] = {};
      BN_bn2binpad(bn, bytes, 16);
      int64_t ms = 0;
      for (int i = 0; i < 8; ++i) ms = (ms << 8) | bytes[i];
      id.issued_ms = ms;
    }
    BN_free(bn);
  }
  return id;
}

}  // namespace cifs
