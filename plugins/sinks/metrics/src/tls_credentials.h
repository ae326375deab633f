// The metrics endpoint's server certificate and key, reloaded when the files change. cert-manager and
// kubelet rotate a mounted Secret by swapping a symlink (`..data`), so the files' identity (device,
// inode, size, mtime of what the paths resolve to) is compared, at most once per `reload_interval`, from
// the serving loop: two stat() calls, no blocking. A pair that fails to load (missing, unreadable, not
// PEM, key not matching the certificate, or read half-written during a swap) is refused and the last
// good pair keeps serving; it is retried when either file changes again.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "wva/sdk/result.h"

namespace wva::plugins::metrics {

struct TlsFiles {
  std::string cert_file;  // PEM: the server certificate, then any intermediates
  std::string key_file;   // PEM: its private key
  std::chrono::milliseconds reload_interval{10000};
};

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// Files larger than this are refused (a certificate chain is a few KiB).
inline constexpr std::size_t kMaxPemBytes = 1u << 20;

// A server SSL_CTX (TLS 1.2+, no renegotiation) for the pair. Errors say which file and why; the
// caller adds the config path.
sdk::Result<SslCtxPtr> make_server_context(const TlsFiles& files);

class TlsCredentials {
 public:
  // Loads the pair; an error names the file and the config path (`config_path`.certFile / .keyFile).
  static sdk::Result<std::unique_ptr<TlsCredentials>> load(TlsFiles files, const std::string& config_path);

  // The context new connections use. Connections keep the context they started with (SSL_new takes
  // a reference), so a reload never cuts a scrape in flight.
  SSL_CTX* context() const { return ctx_.get(); }
  struct Reload {
    bool ok = false;  // false: the changed pair was refused, the last good one serves on
    std::string message;
  };
  // Reloads when a file changed and the interval has passed; says how it went when it tried.
  std::optional<Reload> maybe_reload(std::chrono::steady_clock::time_point now);
  std::uint64_t reloads() const { return reloads_; }
  // The certificate's subject and notAfter, for logs.
  std::string describe() const;

 private:
  struct Identity {
    bool ok = false;
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_sec = 0, mtime_nsec = 0;
    bool operator==(const Identity&) const = default;
  };
  static Identity identity_of(const std::string& path);

  TlsFiles files_;
  SslCtxPtr ctx_;
  Identity cert_id_, key_id_;  // what was last tried (loaded, or refused and not to be retried unchanged)
  std::chrono::steady_clock::time_point next_check_{};
  std::uint64_t reloads_ = 0;
};

}  // namespace wva::plugins::metrics
