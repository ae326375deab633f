#include "fake_apiserver.h"

#include <httplib.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace wva::testing {
namespace {

using nlohmann::json;

void merge_patch(json& target, const json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) target.erase(it.key());
    else merge_patch(target[it.key()], it.value());
  }
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '/');)
    if (!part.empty()) out.push_back(part);
  return out;
}

void send(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

std::string rv_of(const json& obj) { return obj.value("metadata", json::object()).value("resourceVersion", ""); }

}  // namespace

json FakeApiServer::status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

FakeApiServer::FakeApiServer() {
  resources_ = {
      {"", "v1", "pods", "Pod", true, true, false, "po"},
      {"", "v1", "configmaps", "ConfigMap", true, false, false, "cm"},
      {"", "v1", "events", "Event", true, false, false, "ev"},
      {"", "v1", "namespaces", "Namespace", false, true, false, "ns"},
      {"apps", "v1", "deployments", "Deployment", true, true, true, "deploy"},
      {"apps", "v1", "replicasets", "ReplicaSet", true, true, false, "rs"},
      {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, true, false, "hpa"},
      {"llmd.ai", "v1alpha1", "variantautoscalings", "VariantAutoscaling", true, true, false, "va"},
      {"coordination.k8s.io", "v1", "leases", "Lease", true, false, false, ""},
  };
  server_ = std::make_unique<httplib::Server>();
  // Watches hold a thread each: two controllers with six informers each, plus kubectl.
  server_->new_task_queue = [] { return new httplib::ThreadPool(96); };
  // As kube-apiserver (Go's net/http): a keep-alive connection serves any number of requests, and
  // answers are not held back by Nagle's algorithm (TCP_NODELAY; else each answer on a reused connection
  // waits for the client's delayed ACK, about 40 ms).
  server_->set_keep_alive_max_count(1000000);
  server_->set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server_->Get("/.*", handler);
  server_->Post("/.*", handler);
  server_->Put("/.*", handler);
  server_->Patch("/.*", handler);
  server_->Delete("/.*", handler);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake API server: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the loop runs would be lost (and the destructor would wait forever).
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void FakeApiServer::require_token(std::string token) {
  std::lock_guard lock(mutex_);
  token_ = std::move(token);
}

void FakeApiServer::add_token(std::string token, std::string user, std::vector<std::string> groups) {
  std::lock_guard lock(mutex_);
  review_tokens_[std::move(token)] = {std::move(user), std::move(groups)};
}

void FakeApiServer::allow_non_resource(std::string subject, std::string path, std::string verb) {
  std::lock_guard lock(mutex_);
  non_resource_rules_.push_back({std::move(subject), std::move(path), std::move(verb)});
}

void FakeApiServer::throttle(std::string method, std::string path_part, int times, int retry_after_s) {
  std::lock_guard lock(mutex_);
  throttle_ = {std::move(method), std::move(path_part), times, retry_after_s};
}

void FakeApiServer::review_failure(int http_status, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  review_failure_status_ = http_status;
  review_failure_delay_ = delay;
}

bool FakeApiServer::review(const httplib::Request& req, httplib::Response& res) {
  const bool token_review = req.path == "/apis/authentication.k8s.io/v1/tokenreviews";
  const bool access_review = req.path == "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  if (!token_review && !access_review) return false;
  if (req.method != "POST") {
    send(res, 405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    return true;
  }
  int failure = 0;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mutex_);
    failure = review_failure_status_;
    delay = review_failure_delay_;
  }
  if (failure) {
    std::this_thread::sleep_for(delay);  // stands for an overloaded API server
    send(res, failure, status(failure, failure == 503 ? "ServiceUnavailable" : "InternalError", "review failed"));
    return true;
  }
  json body;
  try {
    body = json::parse(req.body);
  } catch (const std::exception& e) {
    send(res, 400, status(400, "BadRequest", std::string("invalid JSON: ") + e.what()));
    return true;
  }
  const std::string kind = token_review ? "TokenReview" : "SubjectAccessReview";
  const std::string api_version = token_review ? "authentication.k8s.io/v1" : "authorization.k8s.io/v1";
  if (!body.is_object() || body.value("kind", "") != kind || body.value("apiVersion", "") != api_version ||
      !body.contains("spec") || !body["spec"].is_object()) {
    send(res, 400, status(400, "BadRequest", "expected a " + kind + " of " + api_version + " with a spec"));
    return true;
  }
  const json& spec = body["spec"];
  json out = body;
  out["metadata"] = json::object({{"creationTimestamp", nullptr}});
  std::lock_guard lock(mutex_);
  if (token_review) {
    const std::string token = spec.value("token", "");
    auto it = review_tokens_.find(token);
    if (it == review_tokens_.end()) {
      out["status"] = {{"authenticated", false}, {"user", json::object()}, {"error", "invalid bearer token"}};
    } else {
      out["status"] = {
          {"authenticated", true},
          {"user", {{"username", it->second.user}, {"uid", "uid-" + it->second.user}, {"groups", it->second.groups}}},
          {"audiences", {"https://kubernetes.default.svc.cluster.local"}}};
    }
  } else {
    // The API refuses a SubjectAccessReview without exactly one of resourceAttributes/nonResourceAttributes
    // and without a user or group (422 Invalid).
    const bool has_subject = !spec.value("user", "").empty() || spec.contains("groups");
    if (!has_subject || spec.contains("resourceAttributes") == spec.contains("nonResourceAttributes")) {
      send(res, 422,
           status(422, "Invalid",
                  "SubjectAccessReview.authorization.k8s.io is invalid: spec: exactly one of nonResourceAttributes "
                  "or resourceAttributes, and a user or groups, are required"));
      return true;
    }
    bool allowed = false;
    std::string reason;
    if (spec.contains("nonResourceAttributes")) {
      const json& attrs = spec["nonResourceAttributes"];
      const std::string path = attrs.value("path", ""), verb = attrs.value("verb", "");
      std::vector<std::string> subjects = {spec.value("user", "")};
      if (auto g = spec.find("groups"); g != spec.end() && g->is_array())
        for (const auto& group : *g) subjects.push_back(group.get<std::string>());
      for (const auto& rule : non_resource_rules_) {
        const bool path_ok = rule.path == path || (!rule.path.empty() && rule.path.back() == '*' &&
                                                   path.rfind(rule.path.substr(0, rule.path.size() - 1), 0) == 0);
        const bool verb_ok = rule.verb == verb || rule.verb == "*";
        if (path_ok && verb_ok && std::find(subjects.begin(), subjects.end(), rule.subject) != subjects.end()) {
          allowed = true;
          reason = "RBAC: allowed by ClusterRoleBinding \"fake\" of ClusterRole \"metrics-reader\" to " + rule.subject;
          break;
        }
      }
    }
    out["status"] = {{"allowed", allowed}};
    if (!reason.empty()) out["status"]["reason"] = reason;
  }
  send(res, 201, out);
  return true;
}

void FakeApiServer::drop_watches() {
  {
    std::lock_guard lock(mutex_);
    ++drop_generation_;
  }
  changed_.notify_all();
}

void FakeApiServer::compact() {
  {
    std::lock_guard lock(mutex_);
    // As etcd compaction does: the revision moves on and nothing at or before it can be watched from.
    ++rv_;
    history_.clear();
    oldest_rv_ = rv_ + 1;
  }
  changed_.notify_all();
}

std::uint64_t FakeApiServer::resource_version() const {
  std::lock_guard lock(mutex_);
  return rv_;
}

std::vector<FakeApiServer::RequestRecord> FakeApiServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t FakeApiServer::count(const std::string& method, const std::string& path_part,
                                 const std::string& authorization) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& r : requests_)
    if (r.method == method && r.path.find(path_part) != std::string::npos &&
        (authorization == "*" || r.authorization == authorization))
      ++n;
  return n;
}

const FakeApiServer::Resource* FakeApiServer::resource_for(const std::string& api_version,
                                                           const std::string& kind) const {
  for (const auto& r : resources_)
    if (r.kind == kind && r.api_version() == api_version) return &r;
  return nullptr;
}

std::optional<FakeApiServer::Route> FakeApiServer::route(const std::string& path) const {
  auto parts = split_path(path);
  std::size_t i = 0;
  std::string group, version;
  if (parts.size() >= 2 && parts[0] == "api") {
    version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    i = 3;
  } else {
    return std::nullopt;
  }
  Route r;
  if (i + 1 < parts.size() && parts[i] == "namespaces" && i + 2 < parts.size()) {
    r.ns = parts[i + 1];
    i += 2;
  } else {
    r.all_namespaces = true;
  }
  if (i >= parts.size()) return std::nullopt;
  for (const auto& res : resources_)
    if (res.group == group && res.version == version && res.plural == parts[i]) r.resource = &res;
  if (!r.resource) return std::nullopt;
  if (i + 1 < parts.size()) r.name = parts[i + 1];
  if (i + 2 < parts.size()) r.subresource = parts[i + 2];
  if (!r.resource->namespaced) r.all_namespaces = false;
  return r;
}

bool FakeApiServer::discovery(const httplib::Request& req, httplib::Response& res) {
  const std::string& p = req.path;
  if (p == "/version") {
    send(res, 200, {{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0-wva-fake"}, {"platform", "linux/amd64"}});
    return true;
  }
  if (p == "/api") {
    send(res, 200,
         {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1"}}}}});
    return true;
  }
  if (p == "/apis") {
    json groups = json::array();
    std::map<std::string, std::string> seen;
    for (const auto& r : resources_)
      if (!r.group.empty() && !seen.count(r.group)) {
        seen[r.group] = r.version;
        json gv = {{"groupVersion", r.api_version()}, {"version", r.version}};
        groups.push_back({{"name", r.group}, {"versions", {gv}}, {"preferredVersion", gv}});
      }
    for (const char* group : {"authentication.k8s.io", "authorization.k8s.io"}) {
      json gv = {{"groupVersion", std::string(group) + "/v1"}, {"version", "v1"}};
      groups.push_back({{"name", group}, {"versions", {gv}}, {"preferredVersion", gv}});
    }
    send(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
    return true;
  }
  auto parts = split_path(p);
  std::string gv;
  if (parts.size() == 2 && parts[0] == "api") gv = parts[1];
  else if (parts.size() == 3 && parts[0] == "apis") gv = parts[1] + "/" + parts[2];
  else return false;
  json list = json::array();
  if (gv == "authentication.k8s.io/v1" || gv == "authorization.k8s.io/v1") {
    const bool authn = gv == "authentication.k8s.io/v1";
    list.push_back({{"name", authn ? "tokenreviews" : "subjectaccessreviews"},
                    {"singularName", ""},
                    {"namespaced", false},
                    {"kind", authn ? "TokenReview" : "SubjectAccessReview"},
                    {"verbs", {"create"}}});
  }
  for (const auto& r : resources_) {
    if (r.api_version() != gv) continue;
    json verbs = {"get", "list", "watch", "create", "update", "patch", "delete"};
    json entry = {
        {"name", r.plural}, {"singularName", ""}, {"namespaced", r.namespaced}, {"kind", r.kind}, {"verbs", verbs}};
    if (!r.short_name.empty()) entry["shortNames"] = {r.short_name};
    list.push_back(entry);
    if (r.status_subresource)
      list.push_back({{"name", r.plural + "/status"},
                      {"singularName", ""},
                      {"namespaced", r.namespaced},
                      {"kind", r.kind},
                      {"verbs", {"get", "patch", "update"}}});
    if (r.scale_subresource)
      list.push_back({{"name", r.plural + "/scale"},
                      {"singularName", ""},
                      {"namespaced", r.namespaced},
                      {"group", "autoscaling"},
                      {"version", "v1"},
                      {"kind", "Scale"},
                      {"verbs", {"get", "patch", "update"}}});
  }
  if (list.empty()) return false;
  send(res, 200, {{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", list}});
  return true;
}

void FakeApiServer::slow_writes(const std::string& plural, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  write_delay_[plural] = delay;
}

void FakeApiServer::unavailable(const std::string& plural, bool on) {
  std::lock_guard lock(mutex_);
  if (on) unavailable_.insert(plural);
  else unavailable_.erase(plural);
}

std::optional<std::chrono::steady_clock::time_point> FakeApiServer::last_write(const std::string& plural) const {
  std::lock_guard lock(mutex_);
  auto it = last_write_.find(plural);
  if (it == last_write_.end()) return std::nullopt;
  return it->second;
}

void FakeApiServer::forbid(const std::string& plural) {
  std::lock_guard lock(mutex_);
  forbidden_.insert(plural);
}

void FakeApiServer::allow(const std::string& plural) {
  std::lock_guard lock(mutex_);
  forbidden_.erase(plural);
}

void FakeApiServer::handle(const httplib::Request& req, httplib::Response& res) {
  const auto arrived = std::chrono::steady_clock::now();
  std::string query;
  for (const auto& [k, v] : req.params) query += (query.empty() ? "" : "&") + k + "=" + v;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(
        {req.method, req.path, query, req.body, req.get_header_value("Authorization"), req.remote_port});
    if (!token_.empty() && req.get_header_value("Authorization") != "Bearer " + token_) {
      send(res, 401, status(401, "Unauthorized", "Unauthorized"));
      return;
    }
    if (throttle_.times > 0 && req.method == throttle_.method &&
        (req.path + "?" + query).find(throttle_.path_part) != std::string::npos) {
      --throttle_.times;
      res.set_header("Retry-After", std::to_string(throttle_.retry_after_s));
      send(res, 429, status(429, "TooManyRequests", "Too many requests, please try again later."));
      return;
    }
  }
  if (review(req, res)) return;
  if (req.method == "GET" && discovery(req, res)) return;
  auto r = route(req.path);
  if (!r) {
    send(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    return;
  }
  const Resource& resource = *r->resource;
  {
    std::lock_guard lock(mutex_);
    if (forbidden_.count(resource.plural)) {
      const std::string verb = req.method == "GET" ? (r->name.empty() ? "list" : "get") : "change";
      send(res, 403,
           status(403, "Forbidden",
                  resource.plural + (resource.group.empty() ? "" : "." + resource.group) +
                      " is forbidden: User \"system:serviceaccount:wva:wva\" cannot " + verb + " resource \"" +
                      resource.plural + "\" in API group \"" + resource.group + "\" at the cluster scope"));
      return;
    }
    if (unavailable_.count(resource.plural)) {
      send(res, 503, status(503, "ServiceUnavailable", "the server is currently unable to handle the request"));
      return;
    }
  }
  json body;
  if (!req.body.empty()) {
    try {
      body = json::parse(req.body);
    } catch (const std::exception& e) {
      send(res, 400, status(400, "BadRequest", std::string("invalid JSON: ") + e.what()));
      return;
    }
  }
  std::pair<int, json> out;
  if (r->name.empty()) {
    if (req.method == "GET") return list_or_watch(*r, req, res);
    if (req.method == "POST") {
      std::lock_guard lock(mutex_);
      out = do_create(resource, r->ns, std::move(body));
    } else {
      out = {405, status(405, "MethodNotAllowed", req.method + " on a collection")};
    }
  } else {
    std::lock_guard lock(mutex_);
    const std::string key = r->ns + "/" + r->name;
    auto& objects = objects_[resource.plural];
    if (!r->subresource.empty() && r->subresource != "status" &&
        !(r->subresource == "scale" && resource.scale_subresource)) {
      out = {404, status(404, "NotFound", "no subresource " + r->subresource)};
    } else if (req.method == "GET") {
      auto it = objects.find(key);
      if (it == objects.end()) {
        out = {404, status(404, "NotFound",
                           resource.plural + (resource.group.empty() ? "" : "." + resource.group) + " \"" + r->name +
                               "\" not found")};
      } else if (r->subresource == "scale") {
        const json& d = it->second;
        out = {200,
               {{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata", {{"name", r->name}, {"namespace", r->ns}, {"resourceVersion", rv_of(d)}}},
                {"spec", {{"replicas", d["spec"].value("replicas", 1)}}},
                {"status", {{"replicas", d.value("status", json::object()).value("replicas", 0)}}}}};
      } else {
        out = {200, it->second};
      }
    } else if (req.method == "PUT") {
      out = do_put(resource, r->ns, r->name, std::move(body), r->subresource == "status");
    } else if (req.method == "PATCH") {
      const std::string ct = req.get_header_value("Content-Type");
      if (ct.find("merge-patch+json") == std::string::npos &&
          ct.find("strategic-merge-patch+json") == std::string::npos)
        out = {415, status(415, "UnsupportedMediaType", "the fake supports merge patches only, not " + ct)};
      else out = do_patch(resource, r->ns, r->name, body, r->subresource);
    } else if (req.method == "DELETE") {
      out = do_delete(resource, r->ns, r->name, body);
    } else {
      out = {405, status(405, "MethodNotAllowed", req.method)};
    }
  }
  if (out.first < 300) changed_.notify_all();
  if ((req.method == "PUT" || req.method == "POST") && out.first < 300) {
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mutex_);
      last_write_[resource.plural] = arrived;
      if (auto it = write_delay_.find(resource.plural); it != write_delay_.end()) delay = it->second;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);  // applied, then answered late
  }
  send(res, out.first, out.second);
}

void FakeApiServer::record_event_locked(const std::string& type, const Resource& res, const json& obj) {
  history_.push_back({rv_, type, res.plural, obj["metadata"].value("namespace", ""), obj});
  // Bounded like etcd's compaction window.
  while (history_.size() > 500000) {
    oldest_rv_ = history_.front().rv + 1;
    history_.pop_front();
  }
}

std::pair<int, json> FakeApiServer::do_create(const Resource& res, const std::string& ns, json obj) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object() ||
      !obj["metadata"].contains("name"))
    return {422, status(422, "Invalid", res.kind + ": metadata.name: Required value")};
  auto& meta = obj["metadata"];
  if (res.namespaced) meta["namespace"] = ns.empty() ? meta.value("namespace", "default") : ns;
  const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
  auto& objects = objects_[res.plural];
  if (objects.count(key))
    return {409, status(409, "AlreadyExists", res.plural + " \"" + meta.value("name", "") + "\" already exists")};
  obj["kind"] = res.kind;
  obj["apiVersion"] = res.api_version();
  meta["uid"] = "uid-" + std::to_string(++uid_);
  meta["creationTimestamp"] = now_rfc3339();
  meta["generation"] = 1;
  meta["resourceVersion"] = std::to_string(++rv_);
  objects[key] = obj;
  record_event_locked("ADDED", res, obj);
  return {201, obj};
}

std::pair<int, json> FakeApiServer::do_put(const Resource& res, const std::string& ns, const std::string& name,
                                           json obj, bool status_only) {
  auto& objects = objects_[res.plural];
  auto it = objects.find(ns + "/" + name);
  if (it == objects.end()) return {404, status(404, "NotFound", res.plural + " \"" + name + "\" not found")};
  const std::string sent_rv = obj.is_object() ? rv_of(obj) : "";
  if (!sent_rv.empty() && sent_rv != rv_of(it->second))
    return {409, status(409, "Conflict",
                        "Operation cannot be fulfilled on " + res.plural + " \"" + name +
                            "\": the object has been modified; please apply your changes to the latest version and "
                            "try again")};
  json next = it->second;
  if (status_only) {
    next["status"] = obj.value("status", json::object());
  } else {
    const json old_spec = next.value("spec", json());
    json keep_status = next.value("status", json());
    next = obj;
    next["metadata"] = it->second["metadata"];
    if (obj.contains("metadata") && obj["metadata"].is_object())
      for (const char* k : {"labels", "annotations", "ownerReferences"})
        if (obj["metadata"].contains(k)) next["metadata"][k] = obj["metadata"][k];
    if (res.status_subresource) {
      if (keep_status.is_null()) next.erase("status");
      else next["status"] = keep_status;
    }
    if (next.value("spec", json()) != old_spec)
      next["metadata"]["generation"] = next["metadata"].value("generation", 1) + 1;
  }
  next["kind"] = res.kind;
  next["apiVersion"] = res.api_version();
  next["metadata"]["resourceVersion"] = std::to_string(++rv_);
  it->second = next;
  record_event_locked("MODIFIED", res, next);
  return {200, next};
}

std::pair<int, json> FakeApiServer::do_patch(const Resource& res, const std::string& ns, const std::string& name,
                                             const json& patch, const std::string& subresource) {
  auto& objects = objects_[res.plural];
  auto it = objects.find(ns + "/" + name);
  if (it == objects.end()) return {404, status(404, "NotFound", res.plural + " \"" + name + "\" not found")};
  const std::string sent_rv = patch.is_object() ? rv_of(patch) : "";
  if (!sent_rv.empty() && sent_rv != rv_of(it->second))
    return {409, status(409, "Conflict",
                        "Operation cannot be fulfilled on " + res.plural + " \"" + name +
                            "\": the object has been modified; please apply your changes to the latest version and "
                            "try again")};
  json next = it->second;
  if (subresource == "scale") {
    if (patch.contains("spec") && patch["spec"].contains("replicas"))
      next["spec"]["replicas"] = patch["spec"]["replicas"];
  } else if (subresource == "status") {
    // The status subresource ignores everything but .status.
    if (patch.contains("status")) merge_patch(next["status"], patch["status"]);
  } else {
    json p = patch;
    if (res.status_subresource) p.erase("status");
    if (p.contains("metadata") && p["metadata"].is_object())
      for (const char* k : {"resourceVersion", "uid", "generation", "creationTimestamp", "name", "namespace"})
        p["metadata"].erase(k);
    const json old_spec = next.value("spec", json());
    merge_patch(next, p);
    if (next.value("spec", json()) != old_spec)
      next["metadata"]["generation"] = next["metadata"].value("generation", 1) + 1;
  }
  next["metadata"]["resourceVersion"] = std::to_string(++rv_);
  it->second = next;
  record_event_locked("MODIFIED", res, next);
  if (subresource == "scale")
    return {200,
            {{"kind", "Scale"},
             {"apiVersion", "autoscaling/v1"},
             {"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv_of(next)}}},
             {"spec", {{"replicas", next["spec"].value("replicas", 1)}}}}};
  return {200, next};
}

std::pair<int, json> FakeApiServer::do_delete(const Resource& res, const std::string& ns, const std::string& name,
                                              const json& options) {
  auto& objects = objects_[res.plural];
  auto it = objects.find(ns + "/" + name);
  if (it == objects.end()) return {404, status(404, "NotFound", res.plural + " \"" + name + "\" not found")};
  // DeleteOptions.preconditions, as kube-apiserver checks them: 409 when the object is no longer that one.
  if (options.is_object() && options.contains("preconditions") && options["preconditions"].is_object()) {
    const json& pre = options["preconditions"];
    const json& meta = it->second["metadata"];
    const bool uid_ok = !pre.contains("uid") || pre["uid"] == meta.value("uid", json());
    const bool rv_ok =
        !pre.contains("resourceVersion") || pre["resourceVersion"] == meta.value("resourceVersion", json());
    if (!uid_ok || !rv_ok)
      return {409, status(409, "Conflict",
                          "Operation cannot be fulfilled on " + res.plural + " \"" + name +
                              "\": the object has been modified; please apply your changes to the latest version "
                              "and try again")};
  }
  json obj = it->second;
  objects.erase(it);
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  record_event_locked("DELETED", res, obj);
  return {200, obj};
}

void FakeApiServer::list_or_watch(const Route& r, const httplib::Request& req, httplib::Response& res) {
  if (req.has_param("watch") && (req.get_param_value("watch") == "1" || req.get_param_value("watch") == "true"))
    return watch(r, req, res);
  std::lock_guard lock(mutex_);
  const auto& objects = objects_[r.resource->plural];
  std::size_t limit = 0;
  if (req.has_param("limit")) limit = std::stoul(req.get_param_value("limit"));
  // Objects are kept by "namespace/name"; one namespace is a contiguous range of keys.
  const bool one_namespace = !r.all_namespaces && r.resource->namespaced;
  const std::string prefix = r.ns + "/";
  auto it = one_namespace ? objects.lower_bound(prefix) : objects.begin();
  if (req.has_param("continue")) {
    // As kube-apiserver's, the token names the list's revision and the last key returned.
    const std::string token = req.get_param_value("continue");
    const auto colon = token.find(':');
    const std::uint64_t token_rv = std::stoull(token.substr(0, colon));
    if (token_rv + 1 < oldest_rv_) {  // the list's revision was compacted away
      send(res, 410, status(410, "Expired", "The provided continue parameter is too old"));
      return;
    }
    it = objects.upper_bound(token.substr(colon + 1));
  }
  json items = json::array();
  std::string last_key;
  bool more = false;
  for (; it != objects.end() && (!one_namespace || it->first.starts_with(prefix)); ++it) {
    if (limit && items.size() == limit) {
      more = true;
      break;
    }
    json item = it->second;
    item.erase("kind");
    item.erase("apiVersion");
    items.push_back(std::move(item));
    last_key = it->first;
  }
  json meta = {{"resourceVersion", std::to_string(rv_)}};
  if (more) meta["continue"] = std::to_string(rv_) + ":" + last_key;
  send(res, 200,
       {{"kind", r.resource->kind + "List"},
        {"apiVersion", r.resource->api_version()},
        {"metadata", meta},
        {"items", items}});
}

void FakeApiServer::watch(const Route& r, const httplib::Request& req, httplib::Response& res) {
  const std::string rv_param = req.has_param("resourceVersion") ? req.get_param_value("resourceVersion") : "";
  const bool bookmarks = req.has_param("allowWatchBookmarks") && req.get_param_value("allowWatchBookmarks") == "true";
  const int timeout_s = req.has_param("timeoutSeconds") ? std::stoi(req.get_param_value("timeoutSeconds")) : 1800;
  const Resource* resource = r.resource;
  const bool all = r.all_namespaces || !resource->namespaced;
  const std::string ns = r.ns;
  struct State {
    std::uint64_t from = 0;  // next events have rv > from
    std::uint64_t generation = 0;
    std::deque<json> initial;  // ADDED for rv "" / "0"
    bool gone = false;
    std::chrono::steady_clock::time_point end, last_sent;
  };
  auto st = std::make_shared<State>();
  {
    std::lock_guard lock(mutex_);
    st->generation = drop_generation_;
    if (rv_param.empty() || rv_param == "0") {
      st->from = rv_;
      for (const auto& [key, obj] : objects_[resource->plural])
        if (all || obj["metadata"].value("namespace", "") == ns) st->initial.push_back(obj);
    } else {
      st->from = std::stoull(rv_param);
      // The history holds every event with rv >= oldest_rv_; an older start cannot be served.
      if (st->from + 1 < oldest_rv_) st->gone = true;
    }
  }
  st->end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  st->last_sent = std::chrono::steady_clock::now();
  ++open_watches_;
  res.set_chunked_content_provider(
      "application/json",
      [this, st, resource, all, ns, bookmarks](std::size_t, httplib::DataSink& sink) {
        auto write = [&](const json& ev) {
          const std::string line = ev.dump() + "\n";
          st->last_sent = std::chrono::steady_clock::now();
          return sink.write(line.data(), line.size());
        };
        if (st->gone) {
          write({{"type", "ERROR"},
                 {"object", status(410, "Expired", "too old resource version: " + std::to_string(st->from))}});
          sink.done();
          return true;
        }
        while (!st->initial.empty()) {
          if (!write({{"type", "ADDED"}, {"object", st->initial.front()}})) return false;
          st->initial.pop_front();
        }
        std::vector<json> batch;
        {
          std::unique_lock lock(mutex_);
          changed_.wait_for(lock, std::chrono::milliseconds(100));
          if (stopping_ || drop_generation_ != st->generation || std::chrono::steady_clock::now() >= st->end) {
            lock.unlock();
            sink.done();
            return true;
          }
          if (st->from + 1 < oldest_rv_) {
            st->gone = true;
            return true;
          }
          auto first = std::upper_bound(history_.begin(), history_.end(), st->from,
                                        [](std::uint64_t rv, const Event& e) { return rv < e.rv; });
          for (auto e_it = first; e_it != history_.end(); ++e_it) {
            const Event& e = *e_it;
            st->from = e.rv;
            if (e.plural != resource->plural || (!all && e.ns != ns)) continue;
            batch.push_back({{"type", e.type}, {"object", e.object}});
          }
          if (batch.empty() && bookmarks &&
              std::chrono::steady_clock::now() - st->last_sent >=
                  std::chrono::milliseconds(bookmark_interval_ms_.load()))
            batch.push_back({{"type", "BOOKMARK"},
                             {"object",
                              {{"kind", resource->kind},
                               {"apiVersion", resource->api_version()},
                               {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}});
        }
        for (const auto& ev : batch)
          if (!write(ev)) return false;
        return true;
      },
      [this](bool) { --open_watches_; });
}

nlohmann::json FakeApiServer::create(json object) {
  const Resource* res = resource_for(object.value("apiVersion", ""), object.value("kind", ""));
  if (!res) throw std::runtime_error("fake API server: unknown kind " + object.value("kind", ""));
  std::pair<int, json> out;
  {
    std::lock_guard lock(mutex_);
    const std::string ns = object["metadata"].value("namespace", res->namespaced ? "default" : "");
    out = do_create(*res, ns, std::move(object));
  }
  changed_.notify_all();
  if (out.first >= 300) throw std::runtime_error("fake API server: create: " + out.second.dump());
  return out.second;
}

nlohmann::json FakeApiServer::update(json object) {
  const Resource* res = resource_for(object.value("apiVersion", ""), object.value("kind", ""));
  if (!res) throw std::runtime_error("fake API server: unknown kind " + object.value("kind", ""));
  std::pair<int, json> out;
  {
    std::lock_guard lock(mutex_);
    const std::string ns = object["metadata"].value("namespace", "default");
    const std::string name = object["metadata"].value("name", "");
    object["metadata"].erase("resourceVersion");
    out = do_put(*res, ns, name, std::move(object), false);
  }
  changed_.notify_all();
  if (out.first >= 300) throw std::runtime_error("fake API server: update: " + out.second.dump());
  return out.second;
}

bool FakeApiServer::remove(const std::string& kind, const std::string& ns, const std::string& name) {
  for (const auto& r : resources_)
    if (r.kind == kind) {
      std::pair<int, json> out;
      {
        std::lock_guard lock(mutex_);
        out = do_delete(r, ns, name);
      }
      changed_.notify_all();
      return out.first == 200;
    }
  return false;
}

std::optional<json> FakeApiServer::get(const std::string& kind, const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& r : resources_)
    if (r.kind == kind) {
      auto p = objects_.find(r.plural);
      if (p == objects_.end()) return std::nullopt;
      auto it = p->second.find(ns + "/" + name);
      if (it == p->second.end()) return std::nullopt;
      return it->second;
    }
  return std::nullopt;
}

std::vector<json> FakeApiServer::list(const std::string& kind) const {
  std::lock_guard lock(mutex_);
  std::vector<json> out;
  for (const auto& r : resources_)
    if (r.kind == kind)
      if (auto p = objects_.find(r.plural); p != objects_.end())
        for (const auto& [k, v] : p->second) out.push_back(v);
  return out;
}

std::string write_kubeconfig(const std::string& path, const std::string& server, const std::string& token,
                             const std::string& context) {
  std::ofstream out(path, std::ios::trunc);
  out << "apiVersion: v1\nkind: Config\nclusters:\n- name: fake-cluster\n  cluster:\n    server: " << server
      << "\nusers:\n- name: fake-user\n  user:\n";
  if (!token.empty()) out << "    token: " << token << "\n";
  else out << "    {}\n";
  out << "contexts:\n- name: " << context << "\n  context:\n    cluster: fake-cluster\n    user: fake-user\n"
      << "current-context: " << context << "\n";
  return path;
}

}  // namespace wva::testing
