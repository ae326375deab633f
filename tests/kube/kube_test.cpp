// The Kubernetes backend in-process against FakeApiServer (an in-test stand-in for kube-apiserver; see
// fake_apiserver.h for the conventions it follows): config loading, the API client, informers (paging,
// watch, 410, dropped streams), pod ownership, status writes (409, unchanged), leader election, shards
// on Leases.
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/kube/kube_client.h"
#include "cluster/kube/kube_cluster.h"
#include "cluster/kube/kube_config.h"
#include "cluster/kube/leader_elector.h"
#include "cluster/kube/shard_elector.h"
#include "fake_apiserver.h"
#include "kube_objects.h"
#include "model/model_builder.h"

namespace wva::testing {
namespace {

using namespace std::chrono_literals;
using framework::kube::Connection;
using framework::kube::KubeClient;
using framework::kube::KubeCluster;
using framework::kube::KubeClusterOptions;
using nlohmann::json;

constexpr const char* kSystemNs = "workload-variant-autoscaler-system";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/wva-kube-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// Polls `pred` every 20 ms for at most `timeout`.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::shared_ptr<spdlog::logger> test_logger(std::ostringstream* capture = nullptr) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (capture) sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*capture);
  else sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr);
  auto log = std::make_shared<spdlog::logger>("kube-test", sink);
  log->set_level(spdlog::level::debug);
  return log;
}

std::optional<std::string> no_env(const std::string&) { return std::nullopt; }

Connection plain(const FakeApiServer& server) {
  Connection c;
  c.server = server.url();
  c.source = "test";
  return c;
}

KubeClusterOptions fast_options() {
  KubeClusterOptions o;
  o.system_namespace = kSystemNs;
  o.reflector.page_size = 2;  // every list of more than two objects pages
  o.reflector.backoff_initial = 20ms;
  o.reflector.backoff_max = 200ms;
  return o;
}

// ----------------------------------------------------------------------------------------------- config

TEST(KubeConfig, UsesTheCurrentContextAndResolvesRelativeFiles) {
  TempDir dir;
  dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  dir.write("token", "secret-token\n");
  const std::string cfg = dir.write("config", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c1
  cluster: {server: "https://10.0.0.1:6443/", certificate-authority: ca.pem}
- name: c2
  cluster: {server: "https://10.0.0.2:6443", certificate-authority-data: aGVsbG8=}
users:
- name: u1
  user: {tokenFile: token}
- name: u2
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: c1, user: u1, namespace: llm}
- name: dev
  context: {cluster: c2, user: u2}
)");
  auto c = framework::kube::load_kubeconfig(cfg, "", no_env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->ca_file, (dir.path / "ca.pem").string());
  EXPECT_EQ(c->token_file, (dir.path / "token").string());
  EXPECT_EQ(c->default_namespace, "llm");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_TRUE(c->warnings.empty());

  auto dev = framework::kube::load_kubeconfig(cfg, "dev", no_env);
  ASSERT_TRUE(dev.ok()) << dev.error().message;
  EXPECT_EQ(dev->ca_pem, "hello");
  EXPECT_EQ(dev->token, "abc");
}

TEST(KubeConfig, KubeconfigEnvAndHomeAreTheFallbacks) {
  TempDir dir;
  const std::string a = dir.write("a", "apiVersion: v1\nkind: Config\nclusters: []\n");
  const std::string b = dir.write("b", R"(current-context: x
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  auto from_env = framework::kube::load_kubeconfig("", "", [&](const std::string& n) -> std::optional<std::string> {
    if (n == "KUBECONFIG") return a + ":" + (dir.path / "missing").string() + ":" + b;
    return std::nullopt;
  });
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;
  EXPECT_EQ(from_env->server, "http://127.0.0.1:1");

  std::filesystem::create_directories(dir.path / ".kube");
  std::filesystem::copy_file(b, dir.path / ".kube" / "config");
  auto from_home = framework::kube::load_kubeconfig("", "", [&](const std::string& n) -> std::optional<std::string> {
    if (n == "HOME") return dir.path.string();
    return std::nullopt;
  });
  ASSERT_TRUE(from_home.ok()) << from_home.error().message;
  EXPECT_EQ(from_home->server, "http://127.0.0.1:1");
}

TEST(KubeConfig, BadInputNamesTheCause) {
  TempDir dir;
  auto missing = framework::kube::load_kubeconfig((dir.path / "nope").string(), "", no_env);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos) << missing.error().message;

  const std::string cfg = dir.write("config", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://x", certificate-authority: /no/such/ca.crt}}]
users: [{name: u, user: {client-certificate: cert.pem}}]
contexts: [{name: a, context: {cluster: c, user: u}}, {name: b, context: {cluster: c}}]
)");
  auto unknown = framework::kube::load_kubeconfig(cfg, "staging", no_env);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("context \"staging\" not found (contexts: a, b)"), std::string::npos)
      << unknown.error().message;

  auto ca = framework::kube::load_kubeconfig(cfg, "b", no_env);
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().message.find("certificate-authority /no/such/ca.crt"), std::string::npos) << ca.error().message;
}

TEST(KubeConfig, InsecureSkipVerifyOnlyWhenTheFileSaysSoAndWarns) {
  TempDir dir;
  const std::string cfg = dir.write("config", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://x", insecure-skip-tls-verify: true}}]
contexts: [{name: a, context: {cluster: c}}]
)");
  auto c = framework::kube::load_kubeconfig(cfg, "", no_env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("NOT verified"), std::string::npos);
}

TEST(KubeConfig, InClusterReadsTheServiceAccountAndRereadsARotatedToken) {
  TempDir dir;
  dir.write("token", "first\n");
  dir.write("ca.crt", "x");
  dir.write("namespace", "wva-system\n");
  FakeApiServer server;
  const std::string port = std::to_string(server.port());
  auto env = [&](const std::string& n) -> std::optional<std::string> {
    if (n == "KUBERNETES_SERVICE_HOST") return "127.0.0.1";
    if (n == "KUBERNETES_SERVICE_PORT") return port;
    return std::nullopt;
  };
  EXPECT_TRUE(framework::kube::in_cluster(env));
  auto c = framework::kube::load_in_cluster(env, dir.path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server, "https://127.0.0.1:" + port);
  EXPECT_EQ(c->default_namespace, "wva-system");
  // The fake speaks plain HTTP; the client still sends the token file's content and re-reads it on rotation.
  c->server = server.url();
  server.require_token("first");
  KubeClient client(*c);
  auto r1 = client.request("GET", "/api/v1/pods");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->status, 200);
  std::this_thread::sleep_for(20ms);  // a distinct mtime
  dir.write("token", "second\n");
  server.require_token("second");
  auto r2 = client.request("GET", "/api/v1/pods");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 200) << r2->body;
  auto missing = framework::kube::load_in_cluster(env, dir.path / "nowhere");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("service-account token"), std::string::npos);
}

// --------------------------------------------------------------------------------------------------- TLS

// Runs a shell command (openssl, base64); its stdout.
std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

// A TLS API endpoint (httplib's SSLServer standing in for kube-apiserver's TLS) that requires a client
// certificate signed by the same CA: the kubeconfig's CA and client certificate must both be used.
TEST(KubeClient, TlsWithCaAndClientCertificatesFromFilesOrData) {
  if (sh("command -v openssl").empty()) GTEST_SKIP() << "no openssl to make certificates";
  TempDir dir;
  const std::string d = dir.path.string();
  sh("cd " + d +
     " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca 2>/dev/null"
     " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null"
     " && printf 'subjectAltName=IP:127.0.0.1' > san.ext"
     " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 "
     "-extfile san.ext 2>/dev/null"
     " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=wva 2>/dev/null"
     " && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 1 "
     "2>/dev/null");
  ASSERT_TRUE(std::filesystem::exists(dir.path / "client.crt")) << "openssl failed";
  httplib::SSLServer tls((d + "/server.crt").c_str(), (d + "/server.key").c_str(), (d + "/ca.crt").c_str());
  ASSERT_TRUE(tls.is_valid());
  tls.Get("/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"major":"1","minor":"32"})", "application/json");
  });
  const int port = tls.bind_to_any_port("127.0.0.1");
  std::thread t([&] { tls.listen_after_bind(); });
  for (int i = 0; i < 500 && !tls.is_running(); ++i) std::this_thread::sleep_for(2ms);
  const std::string server = "https://127.0.0.1:" + std::to_string(port);
  auto b64 = [&](const std::string& f) { return sh("base64 -w0 " + d + "/" + f); };
  auto kubeconfig = [&](const std::string& cluster, const std::string& user) {
    return dir.write("config", "current-context: c\nclusters: [{name: k, cluster: {server: \"" + server + "\", " +
                                   cluster + "}}]\nusers: [{name: u, user: {" + user +
                                   "}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n");
  };
  auto get_version = [&](const std::string& cfg) -> sdk::Result<long> {
    auto c = framework::kube::load_kubeconfig(cfg, "", no_env);
    if (!c) return c.error();
    KubeClient client(*c);
    auto r = client.request("GET", "/version", {}, {}, 5s);
    if (!r) return r.error();
    return r->status;
  };
  auto files = get_version(
      kubeconfig("certificate-authority: ca.crt", "client-certificate: client.crt, client-key: client.key"));
  ASSERT_TRUE(files.ok()) << files.error().message;
  EXPECT_EQ(*files, 200);
  auto data = get_version(
      kubeconfig("certificate-authority-data: " + b64("ca.crt"),
                 "client-certificate-data: " + b64("client.crt") + ", client-key-data: " + b64("client.key")));
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_EQ(*data, 200);
  // Without the CA the server's certificate is not trusted: a clear TLS error naming the server.
  auto untrusted = get_version(
      kubeconfig("insecure-skip-tls-verify: false", "client-certificate: client.crt, client-key: client.key"));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message.find(server), std::string::npos) << untrusted.error().message;
  // insecure-skip-tls-verify, when the kubeconfig says so, skips the server check (and warns, tested above).
  auto insecure = get_version(
      kubeconfig("insecure-skip-tls-verify: true", "client-certificate: client.crt, client-key: client.key"));
  ASSERT_TRUE(insecure.ok()) << insecure.error().message;
  tls.stop();
  t.join();
}

// ------------------------------------------------------------------------------------------ fake server

TEST(FakeApiServer, FollowsTheApiConventions) {
  FakeApiServer server;
  KubeClient client(plain(server));
  auto created = client.request("POST", "/apis/llmd.ai/v1alpha1/namespaces/llm/variantautoscalings",
                                variant_autoscaling("llm", "va", "m/x").dump(), "application/json");
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  auto obj = json::parse(created->body);
  const std::string rv = obj["metadata"]["resourceVersion"];
  EXPECT_FALSE(rv.empty());
  EXPECT_EQ(client
                .request("POST", "/apis/llmd.ai/v1alpha1/namespaces/llm/variantautoscalings",
                         variant_autoscaling("llm", "va", "m/x").dump(), "application/json")
                ->status,
            409);
  // The status subresource ignores spec.
  json patch = {{"spec", {{"modelID", "changed"}}}, {"status", {{"phase", "ok"}}}};
  auto st = client.request("PATCH", "/apis/llmd.ai/v1alpha1/namespaces/llm/variantautoscalings/va/status", patch.dump(),
                           "application/merge-patch+json");
  ASSERT_EQ(st->status, 200);
  auto after = server.get("VariantAutoscaling", "llm", "va");
  EXPECT_EQ((*after)["spec"]["modelID"], "m/x");
  EXPECT_EQ((*after)["status"]["phase"], "ok");
  // A write with the old resourceVersion is stale.
  json stale = {{"metadata", {{"resourceVersion", rv}}}, {"status", {{"phase", "late"}}}};
  auto conflict = client.request("PATCH", "/apis/llmd.ai/v1alpha1/namespaces/llm/variantautoscalings/va/status",
                                 stale.dump(), "application/merge-patch+json");
  EXPECT_EQ(conflict->status, 409);
  auto e = framework::kube::api_error(*conflict, "PATCH va");
  EXPECT_EQ(e.code, sdk::ErrorCode::kConflict);
  EXPECT_EQ(client.request("GET", "/apis/apps/v1/namespaces/llm/deployments/none")->status, 404);
  // A watch from before a compaction is answered with a 410 ERROR event.
  server.compact();
  std::atomic<bool> stop{false};
  std::vector<std::string> lines;
  auto w = client.stream(
      "/api/v1/pods?watch=1&resourceVersion=" + rv,
      [&](std::string_view l) {
        lines.emplace_back(l);
        return true;
      },
      stop);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(lines.size(), 1u);
  auto ev = json::parse(lines[0]);
  EXPECT_EQ(ev["type"], "ERROR");
  EXPECT_EQ(ev["object"]["code"], 410);
}

TEST(KubeClient, UnreachableServerAndUnauthorizedAreClearErrors) {
  Connection c;
  c.server = "http://127.0.0.1:1";
  KubeClient client(c);
  auto r = client.request("GET", "/api", {}, {}, 2s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("http://127.0.0.1:1/api"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("reachable"), std::string::npos) << r.error().message;

  FakeApiServer server;
  server.require_token("good");
  KubeClient anon(plain(server));
  auto denied = anon.request("GET", "/api/v1/pods");
  ASSERT_TRUE(denied.ok());
  auto e = framework::kube::api_error(*denied, "GET /api/v1/pods");
  EXPECT_NE(e.message.find("HTTP 401 Unauthorized"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("credentials"), std::string::npos) << e.message;
}

// ------------------------------------------------------------------------------------------- informers

void seed(FakeApiServer& server, const std::string& ns, const std::string& name, int pods) {
  server.create(deployment(ns, name, pods, "m.x"));
  server.create(replicaset(ns, name, "5f8c9"));
  for (int i = 0; i < pods; ++i) server.create(pod(ns, name + "-5f8c9", name, "p" + std::to_string(i)));
}

TEST(KubeCluster, SyncsPagedListsThenFollowsTheWatch) {
  FakeApiServer server;
  for (int i = 0; i < 5; ++i) server.create(variant_autoscaling("llm", "va-" + std::to_string(i), "m/x"));
  seed(server, "llm", "llama", 3);
  server.create(config_map(kSystemNs, "accelerator-unitcost", {{"costs", "H100: 50\n"}}));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  EXPECT_EQ(cluster->list("VariantAutoscaling", "")->size(), 5u);
  EXPECT_EQ(cluster->list("Pod", "llm")->size(), 3u);
  // page_size 2: five VAs take three pages.
  std::size_t va_pages = 0;
  for (const auto& r : server.requests())
    if (r.method == "GET" && r.path.find("variantautoscalings") != std::string::npos &&
        r.query.find("watch") == std::string::npos)
      ++va_pages;
  EXPECT_EQ(va_pages, 3u);
  EXPECT_TRUE(eventually([&] { return server.open_watches() >= 5; }));

  const auto rev = cluster->revision();
  int changes = 0;
  cluster->set_change_listener([&] { ++changes; });
  server.create(variant_autoscaling("llm", "va-new", "m/y"));
  EXPECT_TRUE(eventually([&] { return cluster->get("VariantAutoscaling", "llm", "va-new")->has_value(); }));
  EXPECT_GT(cluster->revision(), rev);
  EXPECT_TRUE(eventually([&] { return changes >= 1; }));
  server.remove("VariantAutoscaling", "llm", "va-0");
  EXPECT_TRUE(eventually([&] { return !cluster->get("VariantAutoscaling", "llm", "va-0")->has_value(); }));
  // Pods map to their Deployment through ReplicaSet ownerReferences.
  auto pods = cluster->list("Pod", "llm");
  ASSERT_TRUE(pods.ok());
  for (const auto& p : pods.value())
    EXPECT_EQ(p["metadata"]["annotations"]["wva.llmd.ai/deployment"], "llama") << p.dump();
}

// The cache keeps what object_store.h lists per kind, and names each object that changed.
TEST(KubeCluster, CachesTrimmedObjectsAndNamesWhatChanged) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto dep = deployment("llm", "llama", 2, "m.x");
  dep["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = std::string(4000, 'x');
  dep["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
  dep["spec"]["template"]["spec"]["containers"][0]["env"] = json::array({{{"name", "A"}, {"value", "1"}}});
  dep["spec"]["template"]["spec"]["volumes"] = json::array({{{"name", "cache"}}});
  server.create(dep);
  server.create(replicaset("llm", "llama", "5f8c9"));
  for (int i = 0; i < 2; ++i) {
    auto p = pod("llm", "llama-5f8c9", "llama", "p" + std::to_string(i));
    p["metadata"]["annotations"]["note"] = "dropped";
    p["metadata"]["managedFields"] = json::array({{{"manager", "kubelet"}}});
    p["status"]["podIP"] = "10.0.0." + std::to_string(i);
    p["status"]["conditions"][0]["lastTransitionTime"] = "2026-01-01T00:00:00Z";
    server.create(p);
  }
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());

  auto got_pod = cluster->get_shared("Pod", "llm", "llama-5f8c9-p0");
  ASSERT_TRUE(got_pod.ok() && *got_pod);
  const json& p = **got_pod;
  EXPECT_FALSE(p.contains("spec"));
  EXPECT_EQ(p["metadata"]["labels"]["app"], "llama");
  EXPECT_EQ(p["metadata"]["ownerReferences"][0]["name"], "llama-5f8c9");
  EXPECT_FALSE(p["metadata"].value("uid", "").empty());
  EXPECT_FALSE(p["metadata"].value("resourceVersion", "").empty());
  EXPECT_FALSE(p["metadata"].contains("managedFields"));
  EXPECT_EQ(p["metadata"]["annotations"], json({{"wva.llmd.ai/deployment", "llama"}}));
  EXPECT_EQ(p["status"]["phase"], "Running");
  EXPECT_EQ(p["status"]["podIP"], "10.0.0.0");
  EXPECT_EQ(p["status"]["conditions"], json::array({{{"type", "Ready"}, {"status", "True"}}}));
  auto got_dep = cluster->get_shared("Deployment", "llm", "llama");
  ASSERT_TRUE(got_dep.ok() && *got_dep);
  const json& d = **got_dep;
  EXPECT_FALSE(d["metadata"].contains("annotations"));
  EXPECT_FALSE(d["metadata"].contains("managedFields"));
  EXPECT_EQ(d["spec"]["replicas"], 2);
  EXPECT_EQ(d["spec"]["selector"]["matchLabels"]["app"], "llama");
  EXPECT_EQ(d["spec"]["template"]["metadata"]["labels"]["llmd.ai/model"], "m.x");
  EXPECT_EQ(d["spec"]["template"]["spec"],
            json::parse(R"({"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
                            "containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]})"));
  EXPECT_EQ(d["status"]["readyReplicas"], 2);
  // The same snapshot twice: nothing is copied.
  EXPECT_EQ(cluster->get_shared("Deployment", "llm", "llama").value().get(), got_dep->get());
  auto owners = cluster->list_pod_owners();
  ASSERT_TRUE(owners.ok());
  ASSERT_EQ(owners->size(), 2u);
  for (const auto& o : *owners) EXPECT_EQ(o.deployment, "llama");

  framework::ModelViews views;
  ASSERT_TRUE(views.rebuild(*cluster).ok());
  ASSERT_EQ(views.models().models.size(), 1u);
  EXPECT_EQ(views.models().models[0].variants.at(0).pods,
            (std::vector<std::string>{"llama-5f8c9-p0", "llama-5f8c9-p1"}));
  auto rev = cluster->revision();

  // A pod's labels change: that pod is named.
  auto p1 = *server.get("Pod", "llm", "llama-5f8c9-p1");
  p1["metadata"]["labels"]["extra"] = "1";
  server.update(p1);
  const framework::ObjectRef pod_ref{"Pod", "llm", "llama-5f8c9-p1"};
  auto named = [&](const framework::ObjectRef& ref, std::uint64_t since) {
    auto changes = cluster->changes_since(since);
    return changes && std::find(changes->begin(), changes->end(), ref) != changes->end();
  };
  EXPECT_TRUE(eventually([&] { return named(pod_ref, rev); }));
  // A VA status write is not a change of the views.
  rev = cluster->revision();
  ASSERT_TRUE(cluster->patch_status("VariantAutoscaling", "llm", "va", {{"phase", "x"}}).ok());
  EXPECT_EQ(cluster->revision(), rev);
  // The ReplicaSet moves to another Deployment: each of its pods is named, and the views follow.
  server.create(deployment("llm", "llama2", 2, "m.x"));
  auto rs = *server.get("ReplicaSet", "llm", "llama-5f8c9");
  rs["metadata"]["ownerReferences"][0]["name"] = "llama2";
  server.update(rs);
  EXPECT_TRUE(eventually([&] {
    auto o = cluster->get_pod_owner("llm", "llama-5f8c9-p0");
    return o.ok() && *o && (*o)->deployment == "llama2";
  }));
  EXPECT_TRUE(named({"Pod", "llm", "llama-5f8c9-p0"}, rev) && named({"Pod", "llm", "llama-5f8c9-p1"}, rev));
  // The Deployment comes through its own informer, maybe after the ReplicaSet's change.
  EXPECT_TRUE(eventually([&] { return named({"Deployment", "llm", "llama2"}, rev); }));
  auto changes = cluster->changes_since(rev);
  ASSERT_TRUE(changes.has_value());
  ASSERT_TRUE(views.update(*cluster, *changes).ok());
  framework::ModelViews full;
  ASSERT_TRUE(full.rebuild(*cluster).ok());
  ASSERT_EQ(views.models().models.size(), 1u);
  ASSERT_EQ(views.models().models[0].variants.size(), 2u);
  EXPECT_TRUE(views.models().models[0].variants[0].pods.empty());
  EXPECT_EQ(views.models().models[0].variants[1].pods, full.models().models[0].variants[1].pods);
  EXPECT_EQ(views.models().models[0].variants[1].pods.size(), 2u);
}

// HorizontalPodAutoscalers are watched (autoscaling/v2) and cached trimmed to what the views read: their
// status (written at every HPA sync) is dropped, so a sync neither bumps the revision nor wakes the views,
// while a change of the bounds is named and reaches the variant it scales.
TEST(KubeCluster, HpasAreCachedWithoutTheirStatusAndBoundTheirVariant) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  server.create(deployment("llm", "llama", 2, "m.x"));
  json hpa = {
      {"apiVersion", "autoscaling/v2"},
      {"kind", "HorizontalPodAutoscaler"},
      {"metadata", {{"name", "llama"}, {"namespace", "llm"}, {"managedFields", json::array({{{"manager", "kcm"}}})}}},
      {"spec",
       {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "llama"}}},
        {"minReplicas", 1},
        {"maxReplicas", 6},
        {"metrics", json::array({{{"type", "External"}}})},
        {"behavior", {{"scaleDown", {{"stabilizationWindowSeconds", 300}}}}}}},
      {"status", {{"currentReplicas", 2}, {"desiredReplicas", 2}}}};
  server.create(hpa);
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  auto got = cluster->get_shared("HorizontalPodAutoscaler", "llm", "llama");
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_FALSE((*got)->contains("status"));
  EXPECT_FALSE((**got)["metadata"].contains("managedFields"));
  EXPECT_EQ((**got)["spec"], json::parse(R"({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "llama"}, "minReplicas": 1, "maxReplicas": 6})"));
  // The records the views read, made from the packed cache one object at a time: those of the JSON.
  auto records = cluster->list_hpa_records();
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(*records, std::vector<framework::HpaRecord>{framework::hpa_record_of(**got)});
  EXPECT_EQ(records->at(0).max_replicas, 6);
  framework::ModelViews views;
  ASSERT_TRUE(views.rebuild(*cluster).ok());
  ASSERT_EQ(views.models().models.size(), 1u);
  EXPECT_EQ(views.models().models[0].variants.at(0).max_replicas, 6);

  // An HPA sync (status only): nothing the views read changed.
  auto rev = cluster->revision();
  json synced = *server.get("HorizontalPodAutoscaler", "llm", "llama");
  synced["status"]["currentReplicas"] = 4;
  server.update(synced);
  // A change of its bounds afterwards: named, and the only change since the sync.
  json bounded = *server.get("HorizontalPodAutoscaler", "llm", "llama");
  bounded["spec"]["maxReplicas"] = 3;
  server.update(bounded);
  const framework::ObjectRef ref{"HorizontalPodAutoscaler", "llm", "llama"};
  EXPECT_TRUE(eventually([&] {
    auto c = cluster->get_shared("HorizontalPodAutoscaler", "llm", "llama");
    return c.ok() && *c && (**c)["spec"].value("maxReplicas", 0) == 3;
  }));
  auto changes = cluster->changes_since(rev);
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(*changes, std::vector<framework::ObjectRef>{ref}) << "the status-only update is not a change";
  ASSERT_TRUE(views.update(*cluster, *changes).ok());
  EXPECT_EQ(views.models().models[0].variants.at(0).max_replicas, 3);
}

// HPAs are optional: a service account without the grant (403) still syncs, with the variants bounded by
// their VAs alone and the denial in last_error; once granted, the next list brings the HPAs in.
TEST(KubeCluster, ForbiddenHpasAreAnEmptyCacheUntilGranted) {
  FakeApiServer server;
  server.forbid("horizontalpodautoscalers");
  server.create(variant_autoscaling("llm", "va", "m/x"));
  server.create(deployment("llm", "llama", 2, "m.x"));
  server.create({{"apiVersion", "autoscaling/v2"},
                 {"kind", "HorizontalPodAutoscaler"},
                 {"metadata", {{"name", "llama"}, {"namespace", "llm"}}},
                 {"spec",
                  {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "llama"}}},
                   {"maxReplicas", 6}}}});
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok()) << "an optional resource does not hold the caches back";
  ASSERT_TRUE(cluster->refresh().ok());
  auto listed = cluster->list_shared("HorizontalPodAutoscaler", "");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  framework::ModelViews views;
  ASSERT_TRUE(views.rebuild(*cluster).ok());
  ASSERT_EQ(views.models().models.size(), 1u);
  EXPECT_EQ(views.models().models[0].variants.at(0).max_replicas, 10) << "the VA's";

  const auto rev = cluster->revision();
  server.allow("horizontalpodautoscalers");
  EXPECT_TRUE(eventually([&] {
    auto got = cluster->get_shared("HorizontalPodAutoscaler", "llm", "llama");
    return got.ok() && *got;
  })) << "listed once granted";
  auto changes = cluster->changes_since(rev);
  ASSERT_TRUE(changes.has_value());
  ASSERT_TRUE(views.update(*cluster, *changes).ok());
  EXPECT_EQ(views.models().models[0].variants.at(0).max_replicas, 6);
}

TEST(KubeCluster, WatchNamespacesLimitWhatIsCached) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "mine", "m/x"));
  server.create(variant_autoscaling("other", "theirs", "m/x"));
  server.create(config_map(kSystemNs, "wva-pipelines", {{"pipelines.yaml", "{}"}}));
  server.create(config_map("llm", "capacity-scaling-config", {{"default", "{}"}}));
  auto options = fast_options();
  options.watch_namespaces = {"llm"};
  auto cluster = std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), options, test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  auto vas = cluster->list("VariantAutoscaling", "");
  ASSERT_TRUE(vas.ok());
  ASSERT_EQ(vas->size(), 1u);
  EXPECT_EQ((*vas)[0]["metadata"]["name"], "mine");
  EXPECT_EQ(server.count("GET", "/namespaces/other/"), 0u);
  // The controller's ConfigMaps are cached; another namespace's is read from the API when asked for.
  EXPECT_TRUE(cluster->get("ConfigMap", kSystemNs, "wva-pipelines")->has_value());
  EXPECT_TRUE(cluster->get("ConfigMap", "llm", "capacity-scaling-config")->has_value());
  EXPECT_EQ(server.count("GET", "/api/v1/namespaces/llm/configmaps/capacity-scaling-config"), 1u);
}

TEST(KubeCluster, RecoversFromDroppedWatchesAnd410WithoutLosingUpdates) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "a", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  const auto lists_before = cluster->lists();
  // A dropped stream reconnects from the last resourceVersion: no re-list.
  server.drop_watches();
  server.create(variant_autoscaling("llm", "b", "m/x"));
  EXPECT_TRUE(eventually([&] { return cluster->get("VariantAutoscaling", "llm", "b")->has_value(); }));
  EXPECT_EQ(cluster->lists(), lists_before);
  // Compacted history: the watch gets 410, the informer lists again and sees what happened meanwhile.
  server.compact();
  server.create(variant_autoscaling("llm", "c", "m/x"));
  server.remove("VariantAutoscaling", "llm", "a");
  EXPECT_TRUE(eventually([&] {
    return cluster->get("VariantAutoscaling", "llm", "c")->has_value() &&
           !cluster->get("VariantAutoscaling", "llm", "a")->has_value();
  }));
  EXPECT_GT(cluster->lists(), lists_before);
}

// Issue 14: an object from the API nested deeper than the input limits (128) is left out of the cache,
// listed or watched, with an error naming it; the other objects are kept and the watch goes on.
TEST(KubeCluster, ObjectsNestedTooDeepAreLeftOutAndTheRestIsKept) {
  auto deep_va = [](const std::string& name) {
    auto va = variant_autoscaling("llm", name, "m/x");
    json deep = json::array();
    for (int i = 0; i < 1000; ++i) {
      json outer = json::array();
      outer.push_back(std::move(deep));
      deep = std::move(outer);
    }
    va["spec"]["extra"] = std::move(deep);
    return va;
  };
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "good", "m/x"));
  server.create(deep_va("deep-listed"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  EXPECT_TRUE(cluster->get("VariantAutoscaling", "llm", "good")->has_value());
  EXPECT_FALSE(cluster->get("VariantAutoscaling", "llm", "deep-listed")->has_value());
  EXPECT_TRUE(eventually([&] { return server.open_watches() >= 1; }));
  server.create(deep_va("deep-watched"));
  server.create(variant_autoscaling("llm", "after", "m/x"));
  EXPECT_TRUE(eventually([&] { return cluster->get("VariantAutoscaling", "llm", "after")->has_value(); }));
  EXPECT_FALSE(cluster->get("VariantAutoscaling", "llm", "deep-watched")->has_value());
  EXPECT_EQ(cluster->list("VariantAutoscaling", "llm")->size(), 2u);
}

TEST(KubeCluster, StatusPatchIsSkippedWhenUnchangedAndRereadOnConflict) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  const json status = {{"desiredOptimizedAlloc", {{"numReplicas", 2}, {"lastRunTime", "2026-01-01T00:00:00Z"}}}};
  ASSERT_TRUE(cluster->patch_status("VariantAutoscaling", "llm", "va", status).ok());
  EXPECT_EQ(server.count("PATCH", "/status"), 1u);
  EXPECT_EQ((*server.get("VariantAutoscaling", "llm", "va"))["status"]["desiredOptimizedAlloc"]["numReplicas"], 2);
  // The same status again, only a newer lastRunTime: nothing is sent.
  json again = status;
  again["desiredOptimizedAlloc"]["lastRunTime"] = "2026-01-01T00:01:00Z";
  ASSERT_TRUE(cluster->patch_status("VariantAutoscaling", "llm", "va", again).ok());
  EXPECT_EQ(server.count("PATCH", "/status"), 1u);
  // Someone else writes (the cache may not have seen it yet): our stale write gets 409, the cache re-reads.
  // A caller writes again after a conflict, as the status sink does; the re-read object can still be
  // replaced for a moment by a watch event of the version before it (events arrive in their own order),
  // so the caller tries again until the write lands (bounded), and every failure must be a conflict.
  auto other = *server.get("VariantAutoscaling", "llm", "va");
  other["metadata"]["labels"] = {{"team", "a"}};
  server.update(other);
  json changed = {{"desiredOptimizedAlloc", {{"numReplicas", 3}}}};
  std::vector<sdk::ErrorCode> failures;
  EXPECT_TRUE(eventually([&] {
    auto written = cluster->patch_status("VariantAutoscaling", "llm", "va", changed);
    if (!written.ok()) failures.push_back(written.error().code);
    return written.ok();
  }));
  for (auto code : failures) EXPECT_EQ(code, sdk::ErrorCode::kConflict);
  EXPECT_EQ((*server.get("VariantAutoscaling", "llm", "va"))["status"]["desiredOptimizedAlloc"]["numReplicas"], 3);
  // A VA status write does not bump the revision (the host knows what it wrote); a spec change does.
  // First every watch event of the writes above must have arrived (one stream per kind, in order): a
  // late one of the labels' write would bump it.
  server.create(variant_autoscaling("llm", "marker", "m/y"));
  ASSERT_TRUE(eventually([&] { return cluster->get("VariantAutoscaling", "llm", "marker")->has_value(); }));
  const auto rev = cluster->revision();
  ASSERT_TRUE(cluster->patch_status("VariantAutoscaling", "llm", "va", {{"phase", "x"}}).ok());
  EXPECT_TRUE(eventually([&] {
    auto va = cluster->get("VariantAutoscaling", "llm", "va");
    return va->has_value() && (**va)["status"].value("phase", "") == "x";
  }));
  EXPECT_EQ(cluster->revision(), rev);
}

// object_version answers the cached resourceVersion (no JSON made): a status write moves it at once (the
// cache takes the API server's answer), an outside change once the watch brings it, a deleted and
// re-created object gets a new one, a missing object answers nullopt.
TEST(KubeCluster, ObjectVersionIsTheCachedResourceVersion) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  auto version = [&] { return cluster->object_version("VariantAutoscaling", "llm", "va").value(); };
  auto server_rv = [&] {
    return "rv:" + (*server.get("VariantAutoscaling", "llm", "va"))["metadata"]["resourceVersion"].get<std::string>();
  };
  const auto v0 = version();
  ASSERT_TRUE(v0.has_value());
  EXPECT_EQ(*v0, server_rv());
  EXPECT_EQ(cluster->object_version("VariantAutoscaling", "llm", "nope").value(), std::nullopt);
  std::set<std::string> seen{*v0};

  ASSERT_TRUE(cluster->patch_status("VariantAutoscaling", "llm", "va", {{"desired", 2}}).ok());
  const auto v1 = version();
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(*v1, server_rv()) << "the write's answer is cached at once";
  EXPECT_TRUE(seen.insert(*v1).second);

  auto other = *server.get("VariantAutoscaling", "llm", "va");
  other["metadata"]["labels"] = {{"team", "a"}};
  server.update(other);
  EXPECT_TRUE(eventually([&] { return version() == server_rv(); }));
  EXPECT_TRUE(seen.insert(*version()).second);

  ASSERT_TRUE(server.remove("VariantAutoscaling", "llm", "va"));
  EXPECT_TRUE(eventually([&] { return !version().has_value(); }));
  server.create(variant_autoscaling("llm", "va", "m/x"));
  EXPECT_TRUE(eventually([&] { return version().has_value(); }));
  EXPECT_TRUE(seen.insert(*version()).second) << "re-created: a version never seen";

  // A kind the backend does not serve is an error, as its read is.
  EXPECT_EQ(cluster->object_version("Event", "llm", "va").error().code, sdk::ErrorCode::kNotFound);
}

// A message past kEventMessageLimit bytes (an error listing every problem of a config can be any size) is
// cut there, never inside a UTF-8 sequence, and ends "...": the Event and its record stay bounded.
TEST(KubeCluster, AnEventMessageIsCutToTheLimitOnAUtf8Boundary) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  const json va = *server.get("VariantAutoscaling", "llm", "va");
  const std::size_t limit = KubeCluster::kEventMessageLimit;
  // "é" (2 bytes) straddles the cut: its first byte is the last one that would fit before "...".
  const std::string head(limit - 4, 'a');
  const std::string message = head + "\xC3\xA9" + std::string(5000, 'b');
  ASSERT_TRUE(cluster->emit_event(va, "Warning", "ConfigInvalid", message).ok());
  const std::string fits(limit, 'c');  // exactly at the limit: sent whole
  ASSERT_TRUE(cluster->emit_event(va, "Warning", "Other", fits).ok());
  cluster.reset();  // drains the queue
  std::map<std::string, std::string> sent;
  for (const auto& e : server.list("Event")) sent[e["reason"].get<std::string>()] = e["message"].get<std::string>();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent["ConfigInvalid"], head + "...") << "cut before the 2-byte character, not inside it";
  EXPECT_LE(sent["ConfigInvalid"].size(), limit);
  EXPECT_EQ(sent["Other"], fits);
}

// Events go out from a thread of their own (as client-go's recorder sends them): emit_event returns at
// once, the Events arrive, repeats within the window are counted, more distinct messages of one reason
// than kSimilarEventsLimit fold into one combined Event with the latest message (client-go's
// EventCorrelator), and destroying the cluster sends what is still queued (a --once run leaves its Events).
TEST(KubeCluster, EventsAreSentInTheBackgroundFoldedAndDrainedOnDestruction) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  const json va = *server.get("VariantAutoscaling", "llm", "va");
  ASSERT_TRUE(cluster->emit_event(va, "Normal", "ScalingRecommendation", "v1: 2 replicas").ok());
  ASSERT_TRUE(cluster->emit_event(va, "Normal", "ScalingRecommendation", "v1: 2 replicas").ok());  // counted
  EXPECT_TRUE(eventually([&] { return server.list("Event").size() == 1; }));
  const auto events = server.list("Event");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["involvedObject"]["name"], "va");
  EXPECT_EQ(events[0]["reason"], "ScalingRecommendation");
  EXPECT_EQ(events[0]["message"], "v1: 2 replicas");
  // More distinct messages for the reason than kSimilarEventsLimit: the first ones are Events of their
  // own, the rest one combined Event with the latest message and their count.
  const int extra = 3 * KubeCluster::kSimilarEventsLimit;
  for (int i = 0; i < extra; ++i)
    ASSERT_TRUE(cluster->emit_event(va, "Normal", "ScalingRecommendation", "m" + std::to_string(i)).ok());
  cluster.reset();  // drains the queue before it returns
  const auto all = server.list("Event");
  ASSERT_EQ(all.size(), static_cast<std::size_t>(KubeCluster::kSimilarEventsLimit + 1));
  int combined = 0;
  for (const auto& e : all) {
    const std::string message = e["message"];
    if (!message.starts_with("(combined from similar events): ")) continue;
    ++combined;
    EXPECT_EQ(message, "(combined from similar events): m" + std::to_string(extra - 1));
    EXPECT_EQ(e["count"], extra - (KubeCluster::kSimilarEventsLimit - 1));
  }
  EXPECT_EQ(combined, 1);
}

// An Event record keeps its object's kind, namespace and name, its type and its reason only in its key,
// split by the sizes recorded with it: what is sent names them exactly, whatever bytes they hold (the
// key's own separators included), for the object's kind as well as for the combined Event of a reason.
TEST(KubeCluster, AnEventNamesItsObjectTypeAndReasonExactlyAsRecorded) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  const json va = *server.get("VariantAutoscaling", "llm", "va");
  const std::string reason =
      "Odd/Reason\x1f"
      "with separators";
  ASSERT_TRUE(cluster
                  ->emit_event(va, "Warning", reason,
                               "a/b\x1f"
                               "c")
                  .ok());
  for (int i = 0; i < KubeCluster::kSimilarEventsLimit + 1; ++i)  // the last goes to the combined Event
    ASSERT_TRUE(cluster->emit_event(va, "Normal", "ScalingRecommendation", "m" + std::to_string(i)).ok());
  cluster.reset();  // drains the queue
  const auto events = server.list("Event");
  ASSERT_EQ(events.size(), static_cast<std::size_t>(KubeCluster::kSimilarEventsLimit + 2));
  int odd = 0, combined = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e["involvedObject"]["kind"], "VariantAutoscaling");
    EXPECT_EQ(e["involvedObject"]["apiVersion"], va["apiVersion"]);
    EXPECT_EQ(e["involvedObject"]["namespace"], "llm");
    EXPECT_EQ(e["involvedObject"]["name"], "va");
    EXPECT_EQ(e["involvedObject"].value("uid", ""), va["metadata"].value("uid", "-"));
    EXPECT_EQ(e["metadata"]["namespace"], "llm");
    EXPECT_TRUE(e["metadata"]["name"].get<std::string>().starts_with("va."));
    if (e["reason"] == reason) {
      ++odd;
      EXPECT_EQ(e["type"], "Warning");
      EXPECT_EQ(e["message"],
                "a/b\x1f"
                "c");
    } else {
      EXPECT_EQ(e["type"], "Normal");
      EXPECT_EQ(e["reason"], "ScalingRecommendation");
      combined += e["message"].get<std::string>().starts_with("(combined from similar events): ");
    }
  }
  EXPECT_EQ(odd, 1);
  EXPECT_EQ(combined, 1);
}

// A first cycle at scale emits Events for every VA at once, faster than the API server takes them: none
// is dropped (client-go's recorder drops past a queue of 1,000): every VA gets each of its Events.
TEST(KubeCluster, ABurstOfEventsForManyObjectsLosesNone) {
  FakeApiServer server;
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  constexpr int kObjects = 1500;
  for (int i = 0; i < kObjects; ++i) {
    const json va = variant_autoscaling("llm", "va-" + std::to_string(i), "m/x");
    ASSERT_TRUE(cluster->emit_event(va, "Normal", "ScalingRecommendation", "Variant a: desired replicas 2").ok());
    ASSERT_TRUE(cluster->emit_event(va, "Warning", "MetricsMissing", "no metrics").ok());
    ASSERT_TRUE(cluster->emit_event(va, "Normal", "ScalingRecommendation", "Variant b: desired replicas 3").ok());
  }
  EXPECT_TRUE(eventually([&] { return server.list("Event").size() == 3u * kObjects; }, 60s))
      << server.list("Event").size();
  std::map<std::string, int> per_object;
  for (const auto& e : server.list("Event")) {
    ++per_object[e["involvedObject"]["name"].get<std::string>()];
    EXPECT_EQ(e["count"], 1);
  }
  EXPECT_EQ(per_object.size(), static_cast<std::size_t>(kObjects));
  for (const auto& [name, n] : per_object) EXPECT_EQ(n, 3) << name;
  EXPECT_EQ(cluster->events_lost(), 0u);
  EXPECT_EQ(cluster->events_sent(), 3u * kObjects);
}

// An API server that throttles (429 with Retry-After) delays an Event, never loses it; a message that
// changes while its Event waits goes out once, as its latest.
TEST(KubeCluster, AThrottledEventIsSentAfterRetryAfterWithItsLatestState) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  const json va = *server.get("VariantAutoscaling", "llm", "va");
  server.throttle("POST", "/events", 2, 1);
  ASSERT_TRUE(cluster->emit_event(va, "Warning", "PrometheusError", "connection refused").ok());
  ASSERT_TRUE(cluster->emit_event(va, "Warning", "PrometheusError", "connection refused").ok());  // waits with it
  EXPECT_TRUE(eventually([&] { return server.list("Event").size() == 1; }, 15s));
  const auto events = server.list("Event");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["message"], "connection refused");
  EXPECT_EQ(events[0]["count"], 2);
  EXPECT_EQ(server.count("POST", "/events"), 3u);  // two answered 429, then created
  EXPECT_EQ(cluster->events_lost(), 0u);
  EXPECT_EQ(cluster->events_sent(), 1u);
}

// A list that changes more than kManyChanges objects is heard once (the reader rebuilds); a smaller one
// names each object it changed, and only those.
TEST(ObjectStore, AListOfManyChangesIsHeardOnceAndASmallOneObjectByObject) {
  using framework::kube::ObjectStore;
  std::vector<std::string> named;
  std::vector<std::string> many;
  ObjectStore store([&](const std::string& kind, const std::string& ns,
                        const std::string& name) { named.push_back(kind + "/" + ns + "/" + name); },
                    [&](const std::string& kind) { many.push_back(kind); });
  auto pods = [&](std::size_t n, const std::string& phase) {
    std::vector<ObjectStore::Entry> entries;
    for (std::size_t i = 0; i < n; ++i) {
      auto p = pod("llm", "llama-5f8c9", "llama", "p" + std::to_string(i));
      p["status"]["phase"] = phase;
      entries.push_back(store.make_entry("Pod", std::move(p)));
    }
    return entries;
  };
  const std::size_t n = ObjectStore::kManyChanges + 1;
  store.replace("Pod", "", pods(n, "Running"));
  EXPECT_EQ(many, std::vector<std::string>{"Pod"});
  EXPECT_TRUE(named.empty());
  EXPECT_EQ(store.size("Pod"), n);
  // The same list with two pods changed and one gone: those three are named.
  auto again = pods(n - 1, "Running");
  again[0] = store.make_entry("Pod", [&] {
    auto p = pod("llm", "llama-5f8c9", "llama", "p0");
    p["status"]["phase"] = "Failed";
    return p;
  }());
  again[1] = store.make_entry("Pod", [&] {
    auto p = pod("llm", "llama-5f8c9", "llama", "p1");
    p["metadata"]["labels"]["extra"] = "1";
    return p;
  }());
  store.replace("Pod", "", std::move(again));
  EXPECT_EQ(many.size(), 1u);
  std::sort(named.begin(), named.end());
  EXPECT_EQ(named, (std::vector<std::string>{"Pod/llm/llama-5f8c9-p0", "Pod/llm/llama-5f8c9-p1",
                                             "Pod/llm/llama-5f8c9-p" + std::to_string(n - 1)}));
}

// Only what a merge patch would change (lastRunTime members aside, at any depth) is sent.
TEST(KubeCluster, StatusPatchIsSentOnlyWhenItWouldChangeMoreThanRunTimes) {
  FakeApiServer server;
  server.create(variant_autoscaling("llm", "va", "m/x"));
  auto cluster =
      std::make_shared<KubeCluster>(std::make_shared<KubeClient>(plain(server)), fast_options(), test_logger());
  ASSERT_TRUE(cluster->wait_synced(10s).ok());
  // The cache takes a PATCH's answer only when no watch event moved the object meanwhile; each step waits
  // (bounded) until the cache holds the server's object, so each patch is judged against the state the
  // previous ones left, whatever the order in which the answer and the watch event arrived.
  auto cached_is_current = [&] {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto cached = cluster->get_shared("VariantAutoscaling", "llm", "va");
      const auto served = server.get("VariantAutoscaling", "llm", "va");
      if (cached.ok() && *cached && served &&
          (**cached)["metadata"].value("resourceVersion", "") == (*served)["metadata"].value("resourceVersion", ""))
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  auto patches_after = [&](const json& patch) {
    EXPECT_TRUE(cluster->patch_status("VariantAutoscaling", "llm", "va", patch).ok()) << patch.dump();
    EXPECT_TRUE(cached_is_current()) << "the cache did not catch up after " << patch.dump();
    return server.count("PATCH", "/status");
  };
  const json conditions = json::array({{{"type", "Ready"}, {"status", "True"}, {"lastRunTime", "t1"}},
                                       {{"type", "MetricsAvailable"}, {"status", "False"}}});
  EXPECT_EQ(patches_after({{"conditions", conditions}, {"desiredOptimizedAlloc", {{"lastRunTime", "t1"}}}}), 1u);
  // The same with other run times, in an array and in an object: not sent.
  json later = conditions;
  later[0]["lastRunTime"] = "t2";
  later[1]["lastRunTime"] = "t2";
  EXPECT_EQ(patches_after({{"conditions", later}, {"desiredOptimizedAlloc", {{"lastRunTime", "t2"}}}}), 1u);
  // Removing a member that is not there, or setting one to what it is: not sent.
  EXPECT_EQ(patches_after({{"actualAllocation", nullptr}, {"conditions", conditions}}), 1u);
  // A changed array element, a new member (even empty), a removed member: each is sent.
  json flipped = conditions;
  flipped[1]["status"] = "True";
  EXPECT_EQ(patches_after({{"conditions", flipped}}), 2u);
  EXPECT_EQ(patches_after({{"actualAllocation", json::object()}}), 3u);
  EXPECT_EQ(patches_after({{"actualAllocation", nullptr}}), 4u);
  EXPECT_EQ(patches_after({{"conditions", json::array({flipped[0]})}}), 5u);
  // A member that is not an object patched with an object: sent once, then equal.
  EXPECT_EQ(patches_after({{"phase", "x"}}), 6u);
  EXPECT_EQ(patches_after({{"phase", {{"a", 1}}}}), 7u);
  EXPECT_EQ(patches_after({{"phase", {{"a", 1}, {"lastRunTime", "t3"}}}}), 7u);
  const json status = (*server.get("VariantAutoscaling", "llm", "va"))["status"];
  EXPECT_EQ(status["phase"], json({{"a", 1}}));
  EXPECT_FALSE(status.contains("actualAllocation"));
  EXPECT_EQ(status["conditions"].size(), 1u);
}

// Requests reuse keep-alive connections (one connect per request would dominate a burst of status writes).
TEST(KubeClient, ReusesConnectionsAcrossRequests) {
  FakeApiServer server;
  KubeClient client(plain(server));
  for (int i = 0; i < 20; ++i) {
    auto r = client.request("GET", "/api/v1/namespaces/llm/pods");
    ASSERT_TRUE(r.ok() && r->status == 200);
  }
  std::set<int> ports;
  for (const auto& r : server.requests()) ports.insert(r.remote_port);
  EXPECT_EQ(server.requests().size(), 20u);
  EXPECT_EQ(ports.size(), 1u);
}

// A kept connection the server has closed (after its per-connection request cap, or idle) is not an
// error: the next request goes out on a new one.
TEST(KubeClient, AConnectionTheServerClosedIsReplaced) {
  httplib::Server closing;
  closing.set_keep_alive_max_count(2);
  closing.set_keep_alive_timeout(1);
  std::atomic<int> served{0};
  closing.Get("/api/v1/pods", [&](const httplib::Request&, httplib::Response& res) {
    ++served;
    res.set_content(R"({"kind":"PodList","metadata":{"resourceVersion":"5"},"items":[]})", "application/json");
  });
  const int port = closing.bind_to_any_port("127.0.0.1");
  std::thread t([&] { closing.listen_after_bind(); });
  Connection c;
  c.server = "http://127.0.0.1:" + std::to_string(port);
  KubeClient client(c);
  for (int i = 0; i < 5; ++i) {
    auto r = client.request("GET", "/api/v1/pods");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  // Idle past the server's keep-alive timeout: it closed the kept connection.
  std::this_thread::sleep_for(1500ms);
  auto r = client.request("GET", "/api/v1/pods");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(served.load(), 6);
  closing.stop();
  t.join();
}

TEST(KubeCluster, BadGatewayAnswersBackOffAndRetryAfterIsHonoured) {
  // A server that answers 429 with Retry-After: 1 twice, then works.
  httplib::Server flaky;
  std::atomic<int> calls{0};
  flaky.Get("/.*", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("watch")) {
      res.status = 200;
      res.set_content("", "application/json");
      return;
    }
    if (calls++ < 2) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content(R"({"kind":"Status","code":429,"reason":"TooManyRequests","message":"slow down"})",
                      "application/json");
      return;
    }
    res.set_content(R"({"kind":"List","metadata":{"resourceVersion":"5"},"items":[]})", "application/json");
  });
  const int port = flaky.bind_to_any_port("127.0.0.1");
  std::thread t([&] { flaky.listen_after_bind(); });
  Connection c;
  c.server = "http://127.0.0.1:" + std::to_string(port);
  KubeClient client(c);
  std::ostringstream captured;
  framework::kube::ObjectStore store;
  framework::kube::ReflectorOptions options;
  options.backoff_initial = 1ms;  // without Retry-After the two retries would take milliseconds
  std::atomic<bool> synced{false};
  framework::kube::Reflector reflector(client, framework::kube::kPods, "", store, options, test_logger(&captured),
                                       [&] { synced = true; });
  const auto start = std::chrono::steady_clock::now();
  reflector.start();
  EXPECT_TRUE(eventually([&] { return synced.load(); }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1900ms);  // two Retry-After waits of 1 s
  reflector.stop();
  flaky.stop();
  t.join();
  EXPECT_NE(captured.str().find("429"), std::string::npos) << captured.str();
}

// A throttled request (429, API Priority and Fairness) is sent again after its Retry-After, as client-go's
// checkWait does, while the waits fit in the request's timeout; a caller that queues its own retries can
// turn that off.
TEST(KubeClient, AThrottledRequestIsSentAgainAfterRetryAfter) {
  FakeApiServer server;
  server.create(pod("llm", "llama-rs", "llama", "a"));
  KubeClient client(plain(server));
  const std::string path = "/api/v1/namespaces/llm/pods";
  server.throttle("GET", path, 2, 1);
  const auto start = std::chrono::steady_clock::now();
  auto r = client.request("GET", path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->throttled, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1900ms);  // two Retry-After waits of 1 s
  EXPECT_EQ(server.count("GET", path), 3u);
  // A wait that would pass the request's timeout is not taken: the 429 is the answer.
  server.throttle("GET", path, 2, 1);
  r = client.request("GET", path, {}, {}, 1500ms);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->throttled, 1);
  // Turned off: the first answer.
  server.throttle("GET", path, 1, 1);
  r = client.request("GET", path, {}, {}, 30s, /*retry_throttled=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->throttled, 0);
}

// A list page answered 429 is sent again with its continue token: the pages already read are kept (a list
// started over at every 429 adds load while the server sheds it, and at scale may never finish).
TEST(Reflector, AThrottledListPageIsRetriedWithItsContinueToken) {
  FakeApiServer server;
  for (int i = 0; i < 5; ++i) server.create(pod("llm", "llama-rs", "llama", std::to_string(i)));
  server.throttle("GET", "continue=", 1, 1);  // the second page
  KubeClient client(plain(server));
  std::ostringstream captured;
  framework::kube::ObjectStore store;
  framework::kube::ReflectorOptions options;
  options.page_size = 2;
  std::atomic<bool> synced{false};
  framework::kube::Reflector reflector(client, framework::kube::kPods, "", store, options, test_logger(&captured),
                                       [&] { synced = true; });
  reflector.start();
  ASSERT_TRUE(eventually([&] { return synced.load(); }, 10s));
  reflector.stop();
  EXPECT_EQ(store.size("Pod"), 5u);
  EXPECT_EQ(reflector.lists(), 1u);
  std::size_t list_pages = 0;
  for (const auto& r : server.requests())
    if (r.method == "GET" && r.path == "/api/v1/pods" && r.query.find("watch") == std::string::npos) ++list_pages;
  EXPECT_EQ(list_pages, 4u) << "three pages and the throttled one again, not the list from its first page";
  EXPECT_NE(captured.str().find("throttled 1 time(s) (429)"), std::string::npos) << captured.str();
}

// "Too large resource version" (a watch cache behind the list it follows, an etcd restored from a backup):
// retrying the same version never cures it, so the reflector lists again, as client-go's does.
TEST(Reflector, AResourceVersionTooLargeForTheServerIsListedAgain) {
  httplib::Server lagging;
  std::atomic<int> lists{0}, watches{0};
  lagging.Get("/.*", [&](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("watch")) {
      ++lists;
      res.set_content(R"({"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[]})", "application/json");
      return;
    }
    if (watches++ == 0) {  // the first watch: the ERROR event kube-apiserver sends
      res.set_content(
          R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Too large )"
          R"(resource version: 9, current: 7","reason":"Timeout","details":{"causes":[{"reason":)"
          R"("ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504}})"
          "\n",
          "application/json");
      return;
    }
    res.set_content("", "application/json");  // later watches: nothing happens until they end
  });
  const int port = lagging.bind_to_any_port("127.0.0.1");
  std::thread t([&] { lagging.listen_after_bind(); });
  Connection c;
  c.server = "http://127.0.0.1:" + std::to_string(port);
  KubeClient client(c);
  framework::kube::ObjectStore store;
  framework::kube::ReflectorOptions options;
  options.backoff_initial = 1ms;
  framework::kube::Reflector reflector(client, framework::kube::kPods, "", store, options, test_logger(), [] {});
  reflector.start();
  EXPECT_TRUE(eventually([&] { return lists.load() >= 2; }, 5s)) << "the watch error did not lead to a new list";
  reflector.stop();
  lagging.stop();
  t.join();
}

// Each watch asks for a timeoutSeconds in [watch_timeout_seconds, 2 x that): informers started together do
// not reconnect together.
TEST(Reflector, WatchTimeoutsAreSpread) {
  FakeApiServer server;
  KubeClient client(plain(server));
  std::vector<std::unique_ptr<framework::kube::ObjectStore>> stores;
  std::vector<std::unique_ptr<framework::kube::Reflector>> reflectors;
  framework::kube::ReflectorOptions options;
  options.watch_timeout_seconds = 100;
  for (int i = 0; i < 8; ++i) {
    stores.push_back(std::make_unique<framework::kube::ObjectStore>());
    reflectors.push_back(std::make_unique<framework::kube::Reflector>(client, framework::kube::kPods, "",
                                                                      *stores.back(), options, test_logger(), [] {}));
    reflectors.back()->start();
  }
  ASSERT_TRUE(eventually([&] { return server.open_watches() == 8; }, 10s));
  std::set<int> timeouts;
  for (const auto& r : server.requests()) {
    const auto at = r.query.find("timeoutSeconds=");
    if (at == std::string::npos) continue;
    const int s = std::stoi(r.query.substr(at + 15));
    EXPECT_GE(s, 100);
    EXPECT_LT(s, 200);
    timeouts.insert(s);
  }
  for (auto& r : reflectors) r->stop();
  EXPECT_GT(timeouts.size(), 1u) << "eight watches asked for the same timeout";
}

// ------------------------------------------------------------------------------------ leader election

TEST(LeaderElector, OneLeaderAndTheOtherTakesOverWhenReleased) {
  FakeApiServer server;
  auto client = std::make_shared<KubeClient>(plain(server));
  framework::kube::LeaderElectionOptions o;
  o.lease_namespace = kSystemNs;
  o.lease_duration = 1500ms;
  o.renew_deadline = 1000ms;
  o.retry_period = 100ms;
  o.identity = "a";
  auto a = std::make_unique<framework::kube::LeaderElector>(client, o, test_logger());
  o.identity = "b";
  framework::kube::LeaderElector b(client, o, test_logger());
  a->start();
  ASSERT_TRUE(eventually([&] { return a->is_leader(); }));
  b.start();
  // b keeps trying for more than a lease duration while a renews: a stays the only leader.
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(b.is_leader());
    EXPECT_TRUE(a->is_leader());
    std::this_thread::sleep_for(100ms);
  }
  auto lease = server.get("Lease", kSystemNs, o.lease_name);
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "a");
  const auto released = std::chrono::steady_clock::now();
  a->release();
  EXPECT_FALSE(a->is_leader());
  ASSERT_TRUE(eventually([&] { return b.is_leader(); }, 5s));
  // Released: b took over at its next retry, not after a lease duration.
  EXPECT_LT(std::chrono::steady_clock::now() - released, 1000ms);
  EXPECT_EQ((*server.get("Lease", kSystemNs, o.lease_name))["spec"]["holderIdentity"], "b");
  EXPECT_GE((*server.get("Lease", kSystemNs, o.lease_name))["spec"]["leaseTransitions"], 1);
}

// A slow apiserver applies a renew when it arrives and answers it late. A standby that saw that write
// takes over a lease duration after seeing it, so the leader's term runs from when it sent the renew (at
// most the renew deadline), not from the late answer: the leader stops publishing before a standby can
// start. Here the answers come 300 ms late (within the request timeout, twice the retry period), then the
// Leases become unavailable to the leader.
TEST(LeaderElector, ItsTermRunsFromTheRenewSentNotFromItsLateAnswer) {
  FakeApiServer server;
  server.slow_writes("leases", 300ms);
  auto client = std::make_shared<KubeClient>(plain(server));
  framework::kube::LeaderElectionOptions o;
  o.lease_namespace = kSystemNs;
  o.lease_duration = 1500ms;
  o.renew_deadline = 1000ms;
  o.retry_period = 250ms;
  o.identity = "a";
  framework::kube::LeaderElector a(client, o, test_logger());
  a.start();
  ASSERT_TRUE(eventually([&] { return a.is_leader(); }, 5s));
  server.unavailable("leases", true);
  std::this_thread::sleep_for(500ms);  // a write in flight when the outage began is answered by now
  const auto last = server.last_write("leases");
  ASSERT_TRUE(last);
  // The last renew that succeeded was sent before it arrived: a renew deadline after its arrival, a is no
  // longer the leader (counted from the late answer, it would be until 300 ms later).
  std::this_thread::sleep_until(*last + 1000ms + 50ms);
  EXPECT_FALSE(a.is_leader());
  // The Lease says at least the duration a counted on, in whole seconds.
  server.unavailable("leases", false);
  EXPECT_EQ((*server.get("Lease", kSystemNs, o.lease_name))["spec"]["leaseDurationSeconds"], 2);
  a.release();
}

// ------------------------------------------------------------------------------------ shards on Leases

using framework::kube::ShardElectionOptions;
using framework::kube::ShardElector;

ShardElectionOptions shard_options(std::size_t shards) {
  ShardElectionOptions o;
  o.lease_namespace = kSystemNs;
  o.lease_name = "wva-test";
  o.shards = shards;
  o.lease_duration = 2000ms;  // whole seconds: Leases carry leaseDurationSeconds
  o.renew_deadline = 1000ms;
  o.retry_period = 100ms;
  return o;
}

std::unique_ptr<ShardElector> shard_elector(const std::shared_ptr<KubeClient>& client, std::size_t shards,
                                            const std::string& identity) {
  auto o = shard_options(shards);
  o.identity = identity;
  return std::make_unique<ShardElector>(client, o, test_logger());
}

// How many of `electors` own each shard now.
std::vector<int> owners(const std::vector<ShardElector*>& electors, std::size_t shards) {
  std::vector<int> out(shards, 0);
  for (auto* e : electors)
    for (std::size_t i = 0; i < shards; ++i) out[i] += e->owns(i) ? 1 : 0;
  return out;
}

// Settled: every shard owned by exactly one of `electors`, none holding more than ceil(N / electors).
bool settled(const std::vector<ShardElector*>& electors, std::size_t shards) {
  for (int n : owners(electors, shards))
    if (n != 1) return false;
  const std::size_t fair = (shards + electors.size() - 1) / electors.size();
  for (auto* e : electors)
    if (e->owned().size() > fair) return false;
  return true;
}

// Samples every elector every 5 ms on its own thread and counts the shards that two replicas owned in two
// samples in a row (10 ms and more): a handover that overlaps shows here.
class OverlapWatch {
 public:
  OverlapWatch(std::vector<ShardElector*> electors, std::size_t shards) : electors_(std::move(electors)) {
    thread_ = std::thread([this, shards] {
      std::vector<int> previous(shards, 0);
      for (int round = 0; round < 20000 && !stop_.load(); ++round) {  // at most 100 s
        const auto now = owners(electors_, shards);
        for (std::size_t i = 0; i < shards; ++i)
          if (now[i] > 1 && previous[i] > 1) ++overlaps_;
        previous = now;
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~OverlapWatch() { stop(); }
  int stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return overlaps_.load();
  }

 private:
  std::vector<ShardElector*> electors_;
  std::atomic<bool> stop_{false};
  std::atomic<int> overlaps_{0};
  std::thread thread_;
};

std::string lease_holder(const FakeApiServer& server, const std::string& name) {
  auto lease = server.get("Lease", kSystemNs, name);
  return lease ? (*lease)["spec"].value("holderIdentity", "") : "";
}

TEST(ShardElector, ThreeReplicasShareFiveShardsOneOwnerEach) {
  FakeApiServer server;
  auto client = std::make_shared<KubeClient>(plain(server));
  auto a = shard_elector(client, 5, "a"), b = shard_elector(client, 5, "b"), c = shard_elector(client, 5, "c");
  const std::vector<ShardElector*> all = {a.get(), b.get(), c.get()};
  OverlapWatch watch(all, 5);
  for (auto* e : all) e->start();
  ASSERT_TRUE(eventually([&] { return settled(all, 5); }, 10s))
      << a->owned().size() << " " << b->owned().size() << " " << c->owned().size();
  // Settled and stays so (several lease durations of renewing): one owner per shard, at most 2 each.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(settled(all, 5)) << "round " << i;
    std::this_thread::sleep_for(100ms);
  }
  // The Leases say the same: shard i's holder is the replica that owns it.
  for (std::size_t i = 0; i < 5; ++i) {
    const std::string holder = lease_holder(server, framework::kube::shard_lease_name("wva-test", i));
    for (auto* e : all) EXPECT_EQ(e->owns(i), holder == e->identity()) << "shard " << i << " held by " << holder;
  }
  // Each replica announces itself on its membership Lease.
  for (auto* e : all)
    EXPECT_EQ(lease_holder(server, framework::kube::member_lease_name("wva-test", e->identity())), e->identity());
  EXPECT_EQ(watch.stop(), 0);
}

TEST(ShardElector, ADeadReplicasShardsAreTakenOverWithinALeaseDuration) {
  FakeApiServer server;
  auto client = std::make_shared<KubeClient>(plain(server));
  auto a = shard_elector(client, 3, "a"), b = shard_elector(client, 3, "b"), c = shard_elector(client, 3, "c");
  const std::vector<ShardElector*> all = {a.get(), b.get(), c.get()};
  for (auto* e : all) e->start();
  ASSERT_TRUE(eventually([&] { return settled(all, 3); }, 10s));
  ASSERT_EQ(c->owned().size(), 1u);
  const std::size_t orphan = c->owned()[0];
  OverlapWatch watch({a.get(), b.get()}, 3);
  // c dies: its loop stops and nothing is released; its Leases stay as they were.
  const auto died = std::chrono::steady_clock::now();
  c->halt();
  EXPECT_TRUE(c->owned().empty());
  const std::vector<ShardElector*> survivors = {a.get(), b.get()};
  ASSERT_TRUE(eventually([&] { return settled(survivors, 3); }, 5s));
  const auto takeover = std::chrono::steady_clock::now() - died;
  // Not before the Lease expired (a lease duration after the survivors last saw it change, less the retry
  // period by which that was before c died) ...
  EXPECT_GE(takeover, 2000ms - 100ms) << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count();
  // ... and within a lease duration plus a retry period and scheduling slack.
  EXPECT_LT(takeover, 2000ms + 100ms + 600ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count();
  EXPECT_TRUE(a->owns(orphan) != b->owns(orphan));
  // The dead replica's membership Lease is cleaned up by the survivors, as the version they saw expire
  // (DeleteOptions preconditions: a replica that renewed it meanwhile keeps it, 409).
  EXPECT_TRUE(eventually(
      [&] { return !server.get("Lease", kSystemNs, framework::kube::member_lease_name("wva-test", "c")); }, 5s));
  EXPECT_EQ(watch.stop(), 0);
  bool conditional = false;
  for (const auto& r : server.requests()) {
    if (r.method != "DELETE" || r.path.find(framework::kube::member_lease_name("wva-test", "c")) == std::string::npos)
      continue;
    const json options = json::parse(r.body);
    EXPECT_EQ(options.value("kind", ""), "DeleteOptions");
    conditional = options.contains("preconditions") && options["preconditions"].contains("resourceVersion") &&
                  options["preconditions"].contains("uid");
  }
  EXPECT_TRUE(conditional);
}

// DeleteOptions preconditions as the fake (like kube-apiserver) checks them: a stale version is a 409.
TEST(FakeApiServer, ADeleteWhosePreconditionsNoLongerHoldIsAConflict) {
  FakeApiServer server;
  server.create(pod("llm", "llama-rs", "llama", "a"));
  const json current = *server.get("Pod", "llm", "llama-rs-a");
  KubeClient client(plain(server));
  const std::string path = "/api/v1/namespaces/llm/pods/llama-rs-a";
  const json stale = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"preconditions", {{"resourceVersion", "0"}}}};
  auto r = client.request("DELETE", path, stale.dump(), "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 409);
  EXPECT_TRUE(server.get("Pod", "llm", "llama-rs-a"));
  const json fresh = {
      {"kind", "DeleteOptions"},
      {"apiVersion", "v1"},
      {"preconditions",
       {{"uid", current["metadata"]["uid"]}, {"resourceVersion", current["metadata"]["resourceVersion"]}}}};
  r = client.request("DELETE", path, fresh.dump(), "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(server.get("Pod", "llm", "llama-rs-a"));
}

TEST(ShardElector, ReleaseHandsTheShardsOverAtOnce) {
  FakeApiServer server;
  auto client = std::make_shared<KubeClient>(plain(server));
  auto a = shard_elector(client, 4, "a"), b = shard_elector(client, 4, "b");
  const std::vector<ShardElector*> both = {a.get(), b.get()};
  for (auto* e : both) e->start();
  ASSERT_TRUE(eventually([&] { return settled(both, 4); }, 10s));
  EXPECT_EQ(a->owned().size(), 2u);
  OverlapWatch watch(both, 4);
  const auto released = std::chrono::steady_clock::now();
  b->release();
  EXPECT_TRUE(b->owned().empty());
  EXPECT_FALSE(server.get("Lease", kSystemNs, framework::kube::member_lease_name("wva-test", "b")));
  ASSERT_TRUE(eventually([&] { return a->owned().size() == 4; }, 5s));
  // Released: a took the shards at its next retries, well before they could have expired.
  EXPECT_LT(std::chrono::steady_clock::now() - released, 1000ms);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(lease_holder(server, framework::kube::shard_lease_name("wva-test", i)), "a");
  EXPECT_EQ(watch.stop(), 0);
}

TEST(ShardElector, AReplicaThatJoinsLaterGetsItsShareFromTheOthers) {
  FakeApiServer server;
  auto client = std::make_shared<KubeClient>(plain(server));
  auto a = shard_elector(client, 4, "a");
  a->start();
  ASSERT_TRUE(eventually([&] { return a->owned().size() == 4; }, 10s));  // alone: every shard
  auto b = shard_elector(client, 4, "b");
  const std::vector<ShardElector*> both = {a.get(), b.get()};
  OverlapWatch watch(both, 4);
  b->start();
  ASSERT_TRUE(eventually([&] { return settled(both, 4); }, 10s));  // a gave two up, b took them
  EXPECT_EQ(a->owned().size(), 2u);
  EXPECT_EQ(b->owned().size(), 2u);
  EXPECT_EQ(watch.stop(), 0);
}

TEST(ShardElector, AReplicaCutOffFromTheApiStopsOwningBeforeAnotherTakesOver) {
  FakeApiServer server;
  Connection ca = plain(server), cb = plain(server);
  ca.token = "token-a";
  cb.token = "token-b";
  auto a = shard_elector(std::make_shared<KubeClient>(ca), 2, "a");
  auto b = shard_elector(std::make_shared<KubeClient>(cb), 2, "b");
  const std::vector<ShardElector*> both = {a.get(), b.get()};
  for (auto* e : both) e->start();
  ASSERT_TRUE(eventually([&] { return settled(both, 2); }, 10s));
  OverlapWatch watch(both, 2);
  // From now on only b's token is accepted: a can neither renew nor release.
  const auto cut = std::chrono::steady_clock::now();
  server.require_token("token-b");
  ASSERT_TRUE(eventually([&] { return a->owned().empty(); }, 5s));
  // a gave up on its own within the renew deadline (from its last successful renew, at most a retry
  // period before the cut) ...
  EXPECT_LT(std::chrono::steady_clock::now() - cut, 1000ms + 300ms);
  // ... and b took a's shard only after that, once the Lease expired.
  ASSERT_TRUE(eventually([&] { return b->owned().size() == 2; }, 5s));
  EXPECT_EQ(watch.stop(), 0);
  a->halt();
}

}  // namespace
}  // namespace wva::testing
