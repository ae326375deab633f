// A libcurl client for the Prometheus HTTP API: POST form to /api/v1/query on one reused connection,
// TLS (CA, client certificate, server name, TLS >= 1.2, verification on unless told otherwise), a bearer
// token file re-read when it changes, a per-attempt timeout, and bounded retries with backoff that never
// outlive the caller's deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chunked_parser.h"
#include "response_parser.h"
#include "settings.h"
#include "wva/sdk/context.h"
#include "wva/sdk/result.h"

namespace wva::prometheus {

struct QueryStats {
  int attempts = 0;
  long http_status = 0;  // of the last attempt, 0 when no HTTP answer
  std::size_t response_bytes = 0;
  std::chrono::microseconds elapsed{0};
  std::chrono::microseconds parse_time{0};
};

class PrometheusClient {
 public:
  explicit PrometheusClient(SourceConfig config);
  ~PrometheusClient();
  PrometheusClient(const PrometheusClient&) = delete;
  PrometheusClient& operator=(const PrometheusClient&) = delete;

  // Checks that the files it will read exist and are readable (called from start(), not configure()).
  sdk::Result<void> check_files() const;

  // Runs one instant query. Returns the parsed successful response, or an error whose message is the
  // reason (without the "Failed to get metrics from Prometheus" prefix the caller adds).
  // Retries connection failures, timeouts, HTTP 429 and 5xx; re-reads the token once on 401.
  sdk::Result<QueryResponse> query(const std::string& promql, sdk::Deadline deadline, QueryStats* stats = nullptr);
  // The same, handing the series to `handler` as they are parsed (no copy of the response's series).
  // The handler may have seen series of a response that then fails (it stages them until told).
  // `at`: the evaluation time (Prometheus's, seconds since the epoch); absent, the server's now.
  sdk::Result<ResponseHeader> query(const std::string& promql, sdk::Deadline deadline, SampleHandler& handler,
                                    QueryStats* stats = nullptr, std::optional<double> at = std::nullopt);

  // Number of times the token file was (re-)read; for tests.
  int token_reads() const;

 private:
  struct Attempt {
    bool transport_ok = false;
    std::string transport_error;
    bool timed_out = false;
    long status = 0;
    bool too_large = false;
    bool parse_failed = false;  // the streaming parser refused the body (the transfer was stopped)
    std::size_t bytes = 0;
  };
  // A 200 body goes into `parser` while it arrives, any other into `other_body`.
  Attempt perform(const std::string& form, std::chrono::milliseconds timeout, ChunkedResponseParser& parser,
                  std::string& other_body);
  sdk::Result<void> refresh_token(bool force);

  SourceConfig config_;
  std::string query_url_;
  std::string connect_to_;  // CURLOPT_CONNECT_TO entry when serverName is set
  mutable std::mutex mu_;
  void* curl_ = nullptr;  // CURL*, reused so the connection stays open
  std::string token_;
  std::optional<std::timespec> token_mtime_;
  std::uintmax_t token_size_ = 0;
  std::uint64_t token_inode_ = 0;
  int token_reads_ = 0;
};

// URL-encodes for application/x-www-form-urlencoded.
std::string form_encode(const std::string& s);

}  // namespace wva::prometheus
