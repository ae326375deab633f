// What the host lends a plugin: logger, clock, cluster view, metrics registry, access reviews. No globals.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"
#include "wva/sdk/types.h"

namespace wva::sdk {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  void debug(std::string_view m) { log(LogLevel::kDebug, m); }
  void info(std::string_view m) { log(LogLevel::kInfo, m); }
  void warn(std::string_view m) { log(LogLevel::kWarn, m); }
  void error(std::string_view m) { log(LogLevel::kError, m); }
};

// Plugins read time only from here: in `wva simulate` it is a virtual clock the host advances.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual bool is_virtual() const = 0;
};

// A real-time budget for I/O (HTTP calls); independent of the (possibly virtual) Clock.
struct Deadline {
  std::chrono::steady_clock::time_point at;

  static Deadline in(std::chrono::milliseconds budget) { return Deadline{std::chrono::steady_clock::now() + budget}; }
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - std::chrono::steady_clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
  }
  bool expired() const { return std::chrono::steady_clock::now() >= at; }
};

// One object as the cluster cache holds it: shared and immutable. The cache replaces an object on change
// and never edits one in place, so a snapshot stays valid (and unchanged) for as long as it is held.
using ObjectSnapshot = std::shared_ptr<const nlohmann::json>;

// Kubernetes-shaped access to the cluster. Objects are their JSON form (as `kubectl get -o json` shows
// them, less what a backend trims: see the backend's header), so a plugin can read any field it keeps.
// Kinds: "ConfigMap", "Deployment", "VariantAutoscaling", "Pod".
// Implementations serve reads from a cache (local folder or a watch-fed informer): list_shared and
// get_shared hand out the cached objects themselves (no copy); list and get copy them, for a caller
// that edits what it read. Since SDK ABI 3.0 (before: list and get were the virtuals).
class ClusterView {
 public:
  virtual ~ClusterView() = default;
  // Namespace of the controller itself, where its ConfigMaps live.
  virtual std::string system_namespace() const = 0;
  // ns empty = all namespaces. Shared snapshots, in the backend's order (by namespace, then name).
  virtual Result<std::vector<ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) = 0;
  // nullptr when the object does not exist.
  virtual Result<ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns,
                                            const std::string& name) = 0;
  // Copies of list_shared's objects.
  Result<std::vector<nlohmann::json>> list(const std::string& kind, const std::string& ns) {
    auto shared = list_shared(kind, ns);
    if (!shared.ok()) return shared.error();
    std::vector<nlohmann::json> out;
    out.reserve(shared->size());
    for (const auto& obj : *shared) out.push_back(*obj);
    return out;
  }
  // A copy of get_shared's object; nullopt when the object does not exist.
  Result<std::optional<nlohmann::json>> get(const std::string& kind, const std::string& ns, const std::string& name) {
    auto shared = get_shared(kind, ns, name);
    if (!shared.ok()) return shared.error();
    if (!*shared) return std::optional<nlohmann::json>();
    return std::optional<nlohmann::json>(**shared);
  }
  // JSON merge patch (RFC 7396) on the status subresource.
  virtual Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                    const nlohmann::json& merge_patch) = 0;
  // Sets the replicas of a Deployment (scale subresource). Used by the emulator's HPA model.
  virtual Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) = 0;
  // Records a Kubernetes Event about `object` (its kind, apiVersion and metadata identify it), so that
  // `kubectl describe` shows it. type: "Normal" or "Warning"; reason: CamelCase; message: one sentence.
  // Backends may drop or fold repeats (rate limit). Default: nothing is recorded. Since SDK ABI 1.1.
  virtual Result<void> emit_event(const nlohmann::json& object, const std::string& type, const std::string& reason,
                                  const std::string& message) {
    (void)object, (void)type, (void)reason, (void)message;
    return Result<void>();
  }
  // A token for the version of the object the view holds now; nullopt when the object does not exist.
  // Two calls that answer the same token saw the same object: not changed, nor deleted and re-created, in
  // between. A caller remembers what it saw by the token rather than by holding the object (the status
  // sink keeps one per VariantAutoscaling). Backends answer from what they keep without making JSON (the
  // kube backend: metadata.resourceVersion; the local one: a counter of its writes). Default: a digest of
  // the object's JSON (equal objects give equal tokens, which is enough: nothing tells them apart).
  // Since SDK ABI 5.1.
  virtual Result<std::optional<std::string>> object_version(const std::string& kind, const std::string& ns,
                                                            const std::string& name) {
    auto shared = get_shared(kind, ns, name);
    if (!shared.ok()) return shared.error();
    if (!*shared) return std::optional<std::string>();
    return std::optional<std::string>(content_version(**shared));
  }
  // object_version's default: "json:" and two 64-bit hashes (FNV-1a and std::hash) of the object's text.
  static std::string content_version(const nlohmann::json& object) {
    const std::string text = object.dump();
    std::uint64_t fnv = 0xcbf29ce484222325ULL;
    for (const char c : text) fnv = (fnv ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    const std::uint64_t other = std::hash<std::string>()(text);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "json:";
    for (const std::uint64_t h : {fnv, other})
      for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(h >> shift) & 0xf]);
    return out;
  }
};

// ConfigMap `data` as a map; empty when absent.
inline std::map<std::string, std::string> config_map_data(const nlohmann::json& config_map) {
  std::map<std::string, std::string> out;
  if (auto it = config_map.find("data"); it != config_map.end() && it->is_object())
    for (auto& [k, v] : it->items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

using Labels = std::map<std::string, std::string>;

// A problem a plugin found in what it reads (a ConfigMap entry it rejects, a setting it ignores), with
// the path that locates it. The host logs it and collects it: `wva validate` prints every one as an
// error. An empty path is the instance's own config path.
enum class Severity { kWarning, kError };
struct Diagnostic {
  Severity severity = Severity::kWarning;
  std::string path;
  std::string message;
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

// The process's Prometheus registry; the metrics sink serves its rendering on /metrics.
class MetricsRegistry {
 public:
  virtual ~MetricsRegistry() = default;
  virtual void set_gauge(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
  virtual void add_counter(std::string_view name, std::string_view help, const Labels& labels, double delta) = 0;
  virtual void remove(std::string_view name, const Labels& labels) = 0;
  // Prometheus text exposition format 0.0.4.
  virtual std::string render() const = 0;
};

// Who a bearer token belongs to, as the API's TokenReview (authentication.k8s.io/v1) answers.
struct TokenIdentity {
  bool authenticated = false;
  std::string user;  // status.user.username
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
  std::string error;  // status.error when not authenticated
};

// Whether a user may do `verb` on a non-resource path, as SubjectAccessReview (authorization.k8s.io/v1)
// answers.
struct AccessDecision {
  bool allowed = false;
  std::string reason;  // status.reason (or status.evaluationError)
};

// The cluster's own authentication and authorization, lent to plugins that guard an endpoint (the
// metrics sink's token auth). Calls block for at most `deadline` and are thread-safe; call them off any
// loop that must stay responsive. A transport failure or an API error is an Error; a token the API does
// not accept is an identity with authenticated = false. Since SDK ABI 3.0.
class AccessReviewer {
 public:
  virtual ~AccessReviewer() = default;
  // POST /apis/authentication.k8s.io/v1/tokenreviews.
  virtual Result<TokenIdentity> authenticate(const std::string& token, Deadline deadline) = 0;
  // POST /apis/authorization.k8s.io/v1/subjectaccessreviews with nonResourceAttributes {path, verb}.
  virtual Result<AccessDecision> authorize(const TokenIdentity& who, const std::string& path, const std::string& verb,
                                           Deadline deadline) = 0;
};

class PluginContext {
 public:
  virtual ~PluginContext() = default;
  virtual Logger& logger() = 0;
  virtual const Clock& clock() = 0;
  virtual ClusterView& cluster() = 0;
  virtual MetricsRegistry& metrics() = 0;
  // The name this instance has in pipelines.yaml (two instances of one plugin have two names).
  virtual std::string instance_name() const = 0;
  // The API server's TokenReview/SubjectAccessReview; nullptr when the backend has none (local mode,
  // simulate). Since SDK ABI 3.0.
  virtual AccessReviewer* access_reviewer() { return nullptr; }
  // Reports a problem in what the plugin read (see Diagnostic); thread-safe. The default logs it.
  // Since SDK ABI 4.0.
  virtual void report(const Diagnostic& diagnostic) {
    if (diagnostic.severity == Severity::kError) logger().error(diagnostic.to_string());
    else logger().warn(diagnostic.to_string());
  }
};

}  // namespace wva::sdk
