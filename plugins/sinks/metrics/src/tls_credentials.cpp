#include "tls_credentials.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace wva::plugins::metrics {
namespace {

using sdk::ErrorCode;
using sdk::make_error;

// The oldest queued OpenSSL error as text (and the queue emptied), or `fallback`.
std::string openssl_error(const std::string& fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// Refuses what is missing, not a regular file, empty or too large before OpenSSL reads it.
sdk::Result<void> check_file(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error(ErrorCode::kInvalidConfig,
                      std::string(what) + " \"" + path + "\" cannot be read: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorCode::kInvalidConfig, std::string(what) + " \"" + path + "\" is not a regular file");
  if (st.st_size == 0) return make_error(ErrorCode::kInvalidConfig, std::string(what) + " \"" + path + "\" is empty");
  if (static_cast<std::size_t>(st.st_size) > kMaxPemBytes)
    return make_error(ErrorCode::kInvalidConfig, std::string(what) + " \"" + path + "\" is larger than " +
                                                     std::to_string(kMaxPemBytes) + " bytes");
  return sdk::ok();
}

}  // namespace

sdk::Result<SslCtxPtr> make_server_context(const TlsFiles& files) {
  if (auto ok = check_file(files.cert_file, "certificate file"); !ok) return ok.error();
  if (auto ok = check_file(files.key_file, "key file"); !ok) return ok.error();
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return make_error(ErrorCode::kInternal, "SSL_CTX_new: " + openssl_error("out of memory"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) != 1)
    return make_error(ErrorCode::kInvalidConfig,
                      "certificate file \"" + files.cert_file +
                          "\" holds no usable PEM certificate: " + openssl_error("unknown error"));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL 3 compares the key with the certificate here already.
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    return make_error(ErrorCode::kInvalidConfig,
                      "key file \"" + files.key_file + "\" " +
                          (mismatch ? "does not match the certificate in \"" + files.cert_file + "\""
                                    : std::string("holds no usable PEM private key")) +
                          ": " + openssl_error("unknown error"));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return make_error(ErrorCode::kInvalidConfig, "key file \"" + files.key_file +
                                                     "\" does not match the certificate in \"" + files.cert_file +
                                                     "\": " + openssl_error("key mismatch"));
  return ctx;
}

TlsCredentials::Identity TlsCredentials::identity_of(const std::string& path) {
  struct stat st {};
  Identity id;
  if (::stat(path.c_str(), &st) != 0) return id;
  id.ok = true;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_sec = st.st_mtim.tv_sec;
  id.mtime_nsec = st.st_mtim.tv_nsec;
  return id;
}

sdk::Result<std::unique_ptr<TlsCredentials>> TlsCredentials::load(TlsFiles files, const std::string& config_path) {
  auto out = std::unique_ptr<TlsCredentials>(new TlsCredentials());
  out->cert_id_ = identity_of(files.cert_file);
  out->key_id_ = identity_of(files.key_file);
  auto ctx = make_server_context(files);
  if (!ctx) {
    sdk::Error e = ctx.error();
    e.path = config_path + (e.message.rfind("key file", 0) == 0 ? ".keyFile" : ".certFile");
    return e;
  }
  out->ctx_ = std::move(*ctx);
  out->files_ = std::move(files);
  out->next_check_ = std::chrono::steady_clock::now() + out->files_.reload_interval;
  return out;
}

std::optional<TlsCredentials::Reload> TlsCredentials::maybe_reload(std::chrono::steady_clock::time_point now) {
  if (now < next_check_) return std::nullopt;
  next_check_ = now + files_.reload_interval;
  const Identity cert = identity_of(files_.cert_file), key = identity_of(files_.key_file);
  if (cert == cert_id_ && key == key_id_) return std::nullopt;
  cert_id_ = cert;
  key_id_ = key;
  auto ctx = make_server_context(files_);
  if (!ctx)
    return Reload{false,
                  "metrics: TLS: kept the last good certificate: the changed pair was refused: " + ctx.error().message};
  ctx_ = std::move(*ctx);
  ++reloads_;
  return Reload{true, "metrics: TLS: reloaded the certificate and key (" + describe() + ")"};
}

std::string TlsCredentials::describe() const {
  X509* cert = ctx_ ? SSL_CTX_get0_certificate(ctx_.get()) : nullptr;
  if (!cert) return "no certificate";
  char subject[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  std::string out = std::string("subject ") + subject;
  if (const ASN1_TIME* not_after = X509_get0_notAfter(cert)) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio) {
      if (ASN1_TIME_print(bio, not_after) == 1) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        if (n > 0) out += ", valid until " + std::string(data, static_cast<std::size_t>(n));
      }
      BIO_free(bio);
    }
  }
  return out;
}

}  // namespace wva::plugins::metrics
