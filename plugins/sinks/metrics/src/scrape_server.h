// A small HTTP/1.1 server for scrapes (GET/HEAD, no request bodies) that a slow or hostile client
// cannot starve: one thread runs a poll() loop over non-blocking sockets, so a connection that trickles
// its request costs a file descriptor and a buffer, never a worker. Each request must arrive whole
// within a deadline; connections are limited per client address and in total, and over a limit the
// oldest connection still sending its request is closed first, so a new scrape always gets in.
// (cpp-httplib 0.11, used before, gives each connection a worker from a fixed pool and times out each
// read separately: 8 clients sending one header byte per second stalled /metrics.)
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>

#include "wva/sdk/result.h"

namespace wva::plugins::metrics {

struct ScrapeRequest {
  std::string method;  // GET or HEAD
  std::string path;    // without the query string
};

struct ScrapeResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

struct ScrapeServerLimits {
  std::chrono::milliseconds request_deadline{5000};  // from a request's first byte to its last header
  std::chrono::milliseconds idle_timeout{2000};      // a connection waiting for its next request
  std::chrono::milliseconds write_deadline{5000};    // to send one response
  std::size_t max_header_bytes = 8192;               // request line and headers
  std::size_t max_connections = 1024;                // in total
  std::size_t max_connections_per_client = 64;       // per client address
  std::size_t max_requests_per_connection = 1000;    // then the connection is closed (keep-alive)
};

class ScrapeServer {
 public:
  using Handler = std::function<ScrapeResponse(const ScrapeRequest&)>;

  ScrapeServer(Handler handler, ScrapeServerLimits limits = {});
  ~ScrapeServer();
  ScrapeServer(const ScrapeServer&) = delete;
  ScrapeServer& operator=(const ScrapeServer&) = delete;

  // Binds and listens (synchronously, so an address in use fails here), then serves on a thread.
  // Returns the bound port. host: a numeric address or a name ("0.0.0.0", "::1", "localhost").
  sdk::Result<int> start(const std::string& host, int port);
  // Idempotent; closes every connection and joins the thread.
  void stop() noexcept;

  // Connections open now (for tests and diagnostics).
  std::size_t connections() const { return open_connections_.load(); }

 private:
  void loop();

  Handler handler_;
  ScrapeServerLimits limits_;
  int listen_fd_ = -1;
  int wake_read_ = -1, wake_write_ = -1;  // a pipe: stop() wakes poll()
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::thread thread_;
};

}  // namespace wva::plugins::metrics
