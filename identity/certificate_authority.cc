#include "identity/certificate_authority.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace cifs {

namespace {

using PKeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

// Certificates are valid from a few minutes back so a client whose clock is
// slightly behind still accepts a fresh one.
constexpr long kClockSkewSeconds = 300;

PKeyPtr NewKey() { return PKeyPtr(EVP_EC_gen("P-256"), EVP_PKEY_free); }

std::string PemOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);  // PKCS#8
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

// The serial carries the issue time in milliseconds in its high bits, then
// 64 random bits: revocation by cut-off compares exact issue times.
bool SetSerial(X509* cert) {
  int64_t ms = NowMs();
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(ms >> (56 - 8 * i));
  if (RAND_bytes(bytes + 8, 8) != 1) return false;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(bytes, sizeof bytes, nullptr), BN_free);
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<X509Ptr> NewCert(EVP_PKEY* key, const std::vector<std::pair<int, std::string>>& subject, int days) {
  X509Ptr cert(X509_new(), X509_free);
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !SetSerial(cert.get())) {
    return Status::Internal("cannot create certificate");
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kClockSkewSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [nid, value] : subject) {
    X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  return cert;
}

struct Loaded {
  PKeyPtr key{nullptr, EVP_PKEY_free};
  X509Ptr cert{nullptr, X509_free};
};

Result<Loaded> LoadPems(const KeyAndCert& kc) {
  Loaded l;
  BioPtr kb(BIO_new_mem_buf(kc.key_pem.data(), static_cast<int>(kc.key_pem.size())), BIO_free);
  l.key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  BioPtr cb(BIO_new_mem_buf(kc.cert_pem.data(), static_cast<int>(kc.cert_pem.size())), BIO_free);
  l.cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!l.key || !l.cert) return Status::InvalidArgument("CA key or certificate cannot be parsed");
  if (X509_check_private_key(l.cert.get(), l.key.get()) != 1) {
    return Status::InvalidArgument("CA key does not match the CA certificate");
  }
  return l;
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

Result<CertificateAuthority> CertificateAuthority::Create(const std::string& common_name, int days) {
  PKeyPtr key = NewKey();
  if (!key) return Status::Internal("cannot generate CA key");
  auto cert = NewCert(key.get(), {{NID_organizationName, "cifs"}, {NID_commonName, common_name}}, days);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  bool ok = AddExt(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
            AddExt(c, c, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
            AddExt(c, c, NID_subject_key_identifier, "hash") &&
            AddExt(c, c, NID_authority_key_identifier, "keyid:always");
  if (!ok || X509_sign(c, key.get(), EVP_sha256()) == 0) return Status::Internal("cannot sign CA certificate");
  CertificateAuthority ca;
  ca.ca_ = {PemOf(key.get()), CertificatePem(c)};
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::Load(const std::string& key_pem, const std::string& cert_pem) {
  CertificateAuthority ca;
  ca.ca_ = {key_pem, cert_pem};
  auto loaded = LoadPems(ca.ca_);
  if (!loaded.ok()) return loaded.status();
  return ca;
}

namespace {
Result<KeyAndCert> Issue(const KeyAndCert& ca_pems, const std::vector<std::pair<int, std::string>>& subject,
                         const std::vector<std::pair<int, std::string>>& exts, int days) {
  auto ca = LoadPems(ca_pems);
  if (!ca.ok()) return ca.status();
  PKeyPtr key = NewKey();
  if (!key) return Status::Internal("cannot generate key");
  auto cert = NewCert(key.get(), subject, days);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(ca->cert.get()));
  for (const auto& [nid, value] : exts) {
    if (!AddExt(c, ca->cert.get(), nid, value)) return Status::Internal("cannot add certificate extension " + value);
  }
  if (X509_sign(c, ca->key.get(), EVP_sha256()) == 0) return Status::Internal("cannot sign certificate");
  return KeyAndCert{PemOf(key.get()), CertificatePem(c)};
}
}  // namespace

Result<KeyAndCert> CertificateAuthority::IssueServer(const std::vector<std::string>& names, int days) const {
  if (names.empty()) return Status::InvalidArgument("a server certificate needs at least one name");
  std::string san;
  for (const auto& n : names) {
    if (n.empty() || n.find_first_of(", \t\n") != std::string::npos) {
      return Status::InvalidArgument("invalid server name '" + n + "'");
    }
    if (!san.empty()) san += ",";
    san += (IsIpAddress(n) ? "IP:" : "DNS:") + n;
  }
  return Issue(ca_, {{NID_organizationName, "cifs"}, {NID_commonName, names[0]}},
               {{NID_basic_constraints, "critical,CA:FALSE"},
                {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                {NID_ext_key_usage, "serverAuth"},
                {NID_subject_alt_name, san},
                {NID_authority_key_identifier, "keyid:always"}},
               days);
}

Result<KeyAndCert> CertificateAuthority::IssueClient(const std::string& name, Role role, int days) const {
  CIFS_RETURN_IF_ERROR(ValidateUserName(name));
  return Issue(ca_,
               {{NID_organizationName, "cifs"}, {NID_organizationalUnitName, RoleName(role)}, {NID_commonName, name}},
               {{NID_basic_constraints, "critical,CA:FALSE"},
                {NID_key_usage, "critical,digitalSignature"},
                {NID_ext_key_usage, "clientAuth"},
                {NID_authority_key_identifier, "keyid:always"}},
               days);
}

}  // namespace cifs
