// A small HTTP/1.1 server for scrapes (GET/HEAD, no request bodies) that a slow or hostile client
// cannot starve: one thread runs a poll() loop over non-blocking sockets, so a connection that trickles
// its request costs a file descriptor and a buffer, never a worker. Each request must arrive whole
// within a deadline; connections are limited per client address and in total, and over a limit the
// oldest connection still sending its request is closed first, so a new scrape always gets in.
// (cpp-httplib 0.11, used before, gives each connection a worker from a fixed pool and times out each
// read separately: 8 clients sending one header byte per second stalled /metrics.)
//
// HTTPS (set_tls): the TLS handshake runs inside the same loop (non-blocking SSL_accept), bounded by
// its own deadline and counted against the same limits, so a client that stalls its handshake is one
// more slow client, evicted first. The certificate is reloaded from the loop when its files change.
//
// A handler may answer later (token reviews go to the API server): it gets a Respond callable from any
// thread; the connection waits, not polled for input, for at most `handler_deadline` (then 503).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "tls_credentials.h"
#include "wva/sdk/context.h"
#include "wva/sdk/result.h"

namespace wva::plugins::metrics {

struct ScrapeRequest {
  std::string method;         // GET or HEAD
  std::string path;           // without the query string
  std::string authorization;  // the Authorization header, as sent
};

struct ScrapeResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

struct ScrapeServerLimits {
  std::chrono::milliseconds request_deadline{5000};    // from a request's first byte to its last header
  std::chrono::milliseconds idle_timeout{2000};        // a connection waiting for its next request
  std::chrono::milliseconds write_deadline{5000};      // to send one response
  std::chrono::milliseconds handshake_deadline{5000};  // TLS: from accept to a finished handshake
  std::chrono::milliseconds handler_deadline{15000};   // an asynchronous answer (then 503)
  std::size_t max_header_bytes = 8192;                 // request line and headers
  std::size_t max_connections = 1024;                  // in total
  std::size_t max_connections_per_client = 64;         // per client address
  std::size_t max_requests_per_connection = 1000;      // then the connection is closed (keep-alive)
};

class ScrapeServer {
 public:
  using Handler = std::function<ScrapeResponse(const ScrapeRequest&)>;
  // Call once, from any thread (a call after the connection is gone, or after stop(), does nothing).
  using Respond = std::function<void(ScrapeResponse)>;
  using AsyncHandler = std::function<void(const ScrapeRequest&, Respond)>;
  using LogLine = std::function<void(sdk::LogLevel, const std::string&)>;

  ScrapeServer(Handler handler, ScrapeServerLimits limits = {});
  ScrapeServer(AsyncHandler handler, ScrapeServerLimits limits);
  ~ScrapeServer();
  ScrapeServer(const ScrapeServer&) = delete;
  ScrapeServer& operator=(const ScrapeServer&) = delete;

  // Binds and listens (synchronously, so an address in use fails here), then serves on a thread.
  // Returns the bound port. host: a numeric address or a name ("0.0.0.0", "::1", "localhost").
  sdk::Result<int> start(const std::string& host, int port);
  // Before start(): serve HTTPS with these credentials (the loop reloads them when they change), and
  // where to log reloads and refused pairs.
  void set_tls(std::shared_ptr<TlsCredentials> credentials, LogLine log);
  // Idempotent; closes every connection and joins the thread.
  void stop() noexcept;

  // Connections open now (for tests and diagnostics).
  std::size_t connections() const { return open_connections_.load(); }
  // TLS handshakes that failed or ran past their deadline (for tests and diagnostics).
  std::size_t failed_handshakes() const { return failed_handshakes_.load(); }

  // Answers from handlers, handed to the loop (shared with Respond callables that may outlive a turn).
  struct Completions;

 private:
  void loop();

  AsyncHandler handler_;
  ScrapeServerLimits limits_;
  int listen_fd_ = -1;
  int wake_read_ = -1, wake_write_ = -1;  // a pipe: stop() wakes poll()
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::size_t> failed_handshakes_{0};
  std::shared_ptr<TlsCredentials> tls_;
  LogLine log_;
  std::shared_ptr<Completions> completions_;
  std::thread thread_;
};

}  // namespace wva::plugins::metrics
