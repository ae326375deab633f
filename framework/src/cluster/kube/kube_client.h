// A small HTTP client for the Kubernetes API on libcurl: one request, or a watch stream read line by line.
// Authentication and TLS come from a Connection; a token file is re-read when it changes on disk.
// Thread-safe: each call uses its own curl handle. Handles of finished requests are kept (a few) with their
// open connections, so a burst of requests (list pages, one status PATCH per VA) reuses keep-alive
// connections instead of connecting for each; a watch stream has a handle of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cluster/kube/kube_config.h"
#include "wva/sdk/result.h"

namespace wva::framework::kube {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;  // from a Retry-After header (seconds form)
  int throttled = 0;  // earlier answers to this request retried after their Retry-After (see request())
};

// Retries of a throttled request (as client-go's checkWait): an answer 429 (API Priority and Fairness
// turned the request away before doing it) of any method, or a 5xx with Retry-After to a GET, is sent again
// after Retry-After (1 s when absent, at most kThrottleWaitMax), at most kThrottledRetries times and while
// the waits stay within the request's timeout.
inline constexpr int kThrottledRetries = 5;
inline constexpr std::chrono::seconds kThrottleWaitMax{10};

class KubeClient {
 public:
  explicit KubeClient(Connection connection);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // path: "/api/v1/namespaces/x/pods?limit=500". A transport failure (refused, DNS, TLS, timeout) is an
  // Error (kUnavailable / kTimeout) naming the server; any HTTP answer is a response. Throttled answers are
  // retried (kThrottledRetries) unless retry_throttled is false (a caller that queues its own retries).
  sdk::Result<HttpResponse> request(const std::string& method, const std::string& path, const std::string& body = {},
                                    const std::string& content_type = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                    bool retry_throttled = true);
  // GET path and hand every complete line of the body to on_line (the watch protocol's JSON lines) until
  // the server ends the stream, on_line returns false, or `stop` becomes true. The response's status is
  // returned; when it is not 200 the body is returned in HttpResponse.body instead of being streamed.
  sdk::Result<HttpResponse> stream(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                                   const std::atomic<bool>& stop);

  const Connection& connection() const { return connection_; }
  const std::string& server() const { return connection_.server; }

 private:
  sdk::Result<std::string> bearer_token();
  sdk::Result<HttpResponse> send_once(const std::string& method, const std::string& path, const std::string& body,
                                      const std::string& content_type, std::chrono::milliseconds timeout);

  struct IdleHandles;  // curl handles with their open connections, for the next requests
  Connection connection_;
  std::unique_ptr<IdleHandles> idle_;
  std::mutex token_mutex_;
  std::string token_;
  std::optional<std::pair<long, long>> token_mtime_;  // (sec, nsec) of the token file last read
};

// The API's error for a non-2xx response: "HTTP 404 NotFound: deployments.apps \"x\" not found" mapped to
// an ErrorCode (404 -> kNotFound, 409 -> kConflict, 422/400 -> kInvalidConfig, 401/403 with a hint about
// credentials/RBAC, else kUnavailable). `what` prefixes the message ("GET /api/v1/pods").
sdk::Error api_error(const HttpResponse& response, const std::string& what);

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view s);

}  // namespace wva::framework::kube
