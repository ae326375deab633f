// A Kubernetes API server in the test process, standing in for kube-apiserver + etcd (no real one can run
// here). It follows the API conventions WVA and kubectl rely on:
// - discovery: /version, /api, /apis, /api/v1, /apis/<group>/<version> (APIVersions, APIGroupList,
//   APIResourceList), errors as `kind: Status`;
// - every write bumps one global resourceVersion, stored in metadata.resourceVersion; metadata.uid,
//   creationTimestamp, generation (bumped when spec changes) are set as the real server does;
// - list with limit/continue paging; watch (?watch=1) as chunked JSON lines of ADDED/MODIFIED/DELETED
//   events, BOOKMARK events when allowWatchBookmarks=true, an ERROR event with a 410 Status when the
//   requested resourceVersion is older than the retained history (compact()), and timeoutSeconds;
// - GET/POST/PUT/PATCH (merge-patch+json)/DELETE; 404 for a missing object, 409 AlreadyExists on create,
//   409 Conflict when a PUT or PATCH carries a stale metadata.resourceVersion;
// - the status subresource (PATCH/PUT .../status change only .status, spec changes are ignored) and the
//   main resource ignoring .status for types with a status subresource; deployments/scale;
// - Leases as the real server keeps them: plain objects with optimistic concurrency (the holder logic is the
//   client's, as with client-go).
// - TokenReview (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1): create-only
//   (POST answers 201 with the object and its status, other methods 405), answered from the tokens and
//   the non-resource permissions a test declares (add_token, allow_non_resource), as kube-apiserver's
//   authenticators and RBAC would answer; review_failure() makes them fail as an overloaded server does.
// Simplifications: no admission, no garbage collection of owned objects, no label/field selectors, list
// pages are cut from the current state (not a snapshot), and no TLS.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
class Request;
class Response;
}  // namespace httplib

namespace wva::testing {

class FakeApiServer {
 public:
  struct Resource {
    std::string group, version, plural, kind;
    bool namespaced = true;
    bool status_subresource = false;
    bool scale_subresource = false;
    std::string short_name;
    std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  };
  struct RequestRecord {
    std::string method, path, query, body;
    std::string authorization;  // the Authorization header (tells two clients apart)
    int remote_port = 0;        // the client's port: one per connection
  };

  FakeApiServer();
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Direct access to the store (what `kubectl apply/delete` would do), with the same semantics as the API.
  nlohmann::json create(nlohmann::json object);  // kind + apiVersion pick the resource; throws on error
  nlohmann::json update(nlohmann::json object);  // replaces (keeps status for status-subresource types)
  bool remove(const std::string& kind, const std::string& ns, const std::string& name);
  std::optional<nlohmann::json> get(const std::string& kind, const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> list(const std::string& kind) const;

  // Faults: end every open watch stream (as a restarted API server or a dropped connection does).
  void drop_watches();
  // Forget the event history: watches from any older resourceVersion get 410 Gone.
  void compact();
  // Every request must carry `Authorization: Bearer <token>` (else 401).
  void require_token(std::string token);
  // The next `times` requests (`method`, path and query, as "path?k=v&...", containing `path_part`) answer
  // 429 with `Retry-After: retry_after_s`, as kube-apiserver's priority and fairness does when a flow's
  // queue is full.
  void throttle(std::string method, std::string path_part, int times, int retry_after_s);
  void set_bookmark_interval(std::chrono::milliseconds interval) { bookmark_interval_ms_ = interval.count(); }
  // RBAC: every request for resource `plural` answers 403 Forbidden, as kube-apiserver does for a
  // service account without a grant; allow() lifts it.
  void forbid(const std::string& plural);
  void allow(const std::string& plural);

  // Reviews. A token the fake authenticates as `user` (e.g. "system:serviceaccount:monitoring:prometheus")
  // with `groups`.
  void add_token(std::string token, std::string user, std::vector<std::string> groups = {});
  // RBAC for non-resource URLs: `subject` (a user or a group) may `verb` on `path` ("/metrics", or a
  // prefix ending in "*" as nonResourceURLs allows).
  void allow_non_resource(std::string subject, std::string path, std::string verb);
  // Review requests answer `http_status` (e.g. 503) after `delay`; 0 turns the fault off.
  void review_failure(int http_status, std::chrono::milliseconds delay = {});
  // A slow apiserver: a PUT or POST on resource `plural` is applied when it arrives and answered `delay`
  // later (0: at once).
  void slow_writes(const std::string& plural, std::chrono::milliseconds delay);
  // Every request on resource `plural` answers 503 while `on` (an apiserver or etcd outage for it).
  void unavailable(const std::string& plural, bool on);
  // When the last PUT or POST on `plural` that succeeded arrived (steady clock).
  std::optional<std::chrono::steady_clock::time_point> last_write(const std::string& plural) const;

  std::vector<RequestRecord> requests() const;
  // Requests whose method matches and whose path contains `path_part`.
  std::size_t count(const std::string& method, const std::string& path_part,
                    const std::string& authorization = "*") const;
  int open_watches() const { return open_watches_.load(); }
  std::uint64_t resource_version() const;

 private:
  struct Event {
    std::uint64_t rv;
    std::string type;
    std::string plural;
    std::string ns;
    nlohmann::json object;
  };
  struct Route {
    const Resource* resource = nullptr;
    std::string ns, name, subresource;
    bool all_namespaces = false;
  };

  void handle(const httplib::Request& req, httplib::Response& res);
  // TokenReview / SubjectAccessReview; false when the path is neither.
  bool review(const httplib::Request& req, httplib::Response& res);
  bool discovery(const httplib::Request& req, httplib::Response& res);
  std::optional<Route> route(const std::string& path) const;
  void list_or_watch(const Route& r, const httplib::Request& req, httplib::Response& res);
  void watch(const Route& r, const httplib::Request& req, httplib::Response& res);
  // Store operations under the lock; they return (HTTP status, body).
  std::pair<int, nlohmann::json> do_create(const Resource& res, const std::string& ns, nlohmann::json obj);
  std::pair<int, nlohmann::json> do_put(const Resource& res, const std::string& ns, const std::string& name,
                                        nlohmann::json obj, bool status_only);
  std::pair<int, nlohmann::json> do_patch(const Resource& res, const std::string& ns, const std::string& name,
                                          const nlohmann::json& patch, const std::string& subresource);
  // options: the request's DeleteOptions (null when it sent none).
  std::pair<int, nlohmann::json> do_delete(const Resource& res, const std::string& ns, const std::string& name,
                                           const nlohmann::json& options = nullptr);
  void record_event_locked(const std::string& type, const Resource& res, const nlohmann::json& obj);
  const Resource* resource_for(const std::string& api_version, const std::string& kind) const;
  static nlohmann::json status(int code, const std::string& reason, const std::string& message);

  std::vector<Resource> resources_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t rv_ = 100;
  std::uint64_t uid_ = 0;
  std::map<std::string, std::map<std::string, nlohmann::json>> objects_;  // plural -> "ns/name" -> object
  std::deque<Event> history_;
  std::uint64_t oldest_rv_ = 100;  // watches from below this get 410
  std::uint64_t drop_generation_ = 0;
  bool stopping_ = false;
  std::string token_;
  struct Throttle {
    std::string method, path_part;
    int times = 0, retry_after_s = 0;
  };
  Throttle throttle_;
  std::set<std::string> forbidden_;    // resource plurals answered 403
  std::set<std::string> unavailable_;  // resource plurals answered 503
  std::map<std::string, std::chrono::milliseconds> write_delay_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_write_;
  struct TokenUser {
    std::string user;
    std::vector<std::string> groups;
  };
  std::map<std::string, TokenUser> review_tokens_;
  struct NonResourceRule {
    std::string subject, path, verb;
  };
  std::vector<NonResourceRule> non_resource_rules_;
  int review_failure_status_ = 0;
  std::chrono::milliseconds review_failure_delay_{0};
  std::vector<RequestRecord> requests_;
  std::atomic<int> open_watches_{0};
  std::atomic<long long> bookmark_interval_ms_{1000};
};

// A kubeconfig for `server` (optionally with a bearer token) written to `path`; returns the path.
std::string write_kubeconfig(const std::string& path, const std::string& server, const std::string& token = {},
                             const std::string& context = "fake");

}  // namespace wva::testing
