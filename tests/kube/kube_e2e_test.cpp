// The real `wva` binary against FakeApiServer, an in-test stand-in for kube-apiserver (fake_apiserver.h
// lists the API conventions it follows): decisions and status over the API, a deleted scale target,
// dropped watches and compacted history, two replicas with leader election, three sharded replicas, probes,
// bad input, and the real kubectl speaking to the same fake.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "fake_apiserver.h"
#include "https_get.h"
#include "kube_objects.h"
#include "prerequisite.h"
#include "subprocess.h"
#include "test_pki.h"

namespace wva::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const std::string kWva = std::string(WVA_BUILD_DIR) + "/bin/wva";
constexpr const char* kSystemNs = "workload-variant-autoscaler-system";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/wva-kube-e2e-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Polls pred every 50 ms (draining the processes' pipes) for at most `timeout`.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::vector<Process*> procs = {}) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    for (auto* p : procs) p->pump(10ms);
    std::this_thread::sleep_for(40ms);
  }
  return pred();
}

std::string pipelines_yaml(const std::string& interval) {
  return R"(sources:
  emulator:
    fixedMetrics:
      llama-8b-h100:
        - {kvCacheUsage: 0.78, waiting: 2, running: 24}
        - {kvCacheUsage: 0.74, waiting: 1, running: 22}
      llama-8b-a100:
        - {kvCacheUsage: 0.85, waiting: 0, running: 30}
        - {kvCacheUsage: 0.60, waiting: 1, running: 18}
analyzers:
  saturation: {}
sinks:
  status: {}
pipelines:
  default:
    selector: {}
    interval: )" +
         interval + R"(
    source: emulator
    analyzers: [saturation]
    sinks: [status]
)";
}

// The quickstart as a cluster holds it: two Deployments with their ReplicaSets and pods, one VA, the
// WVA ConfigMaps.
void seed_quickstart(FakeApiServer& server, const std::string& interval = "30s") {
  server.create(config_map(kSystemNs, "capacity-scaling-config",
                           {{"default",
                             "kvCacheThreshold: 0.80\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\n"
                             "queueSpareTrigger: 3\n"}}));
  server.create(config_map(kSystemNs, "accelerator-unitcost", {{"costs", "A100: 30.0\nH100: 50.0\n"}}));
  server.create(config_map(kSystemNs, "wva-pipelines", {{"pipelines.yaml", pipelines_yaml(interval)}}));
  for (auto [name, gpu] :
       {std::pair{"llama-8b-h100", "NVIDIA-H100-80GB-HBM3"}, std::pair{"llama-8b-a100", "A100-SXM4-80GB"}}) {
    server.create(deployment("llm", name, 2, "meta.llama-3.1-8b", gpu));
    server.create(replicaset("llm", name, "7d9f8"));
    for (const char* suffix : {"x2k4p", "q9z7m"}) server.create(pod("llm", std::string(name) + "-7d9f8", name, suffix));
  }
  server.create(variant_autoscaling("llm", "llama-8b", "meta/llama-3.1-8b"));
}

std::optional<json> condition(const std::optional<json>& va, const std::string& type) {
  if (!va || !va->contains("status") || !(*va)["status"].contains("conditions")) return std::nullopt;
  for (const auto& c : (*va)["status"]["conditions"])
    if (c.value("type", "") == type) return c;
  return std::nullopt;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// The environment of a controller process: nothing that would point it elsewhere.
std::vector<std::string> controller_env(const std::string& pod_name = "wva-test") {
  return {"KUBERNETES_SERVICE_HOST=", "KUBECONFIG=", "POD_NAME=" + pod_name, "LOG_LEVEL=info"};
}

TEST(KubeE2E, RunOnceDecidesAndPatchesTheStatusWithConditions) {
  FakeApiServer server;
  seed_quickstart(server);
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  auto r = run({kWva, "run", "--kubeconfig", kubeconfig, "--once", "--output", "json"}, 60s, controller_env());
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = json::parse(r.out);
  ASSERT_EQ(doc["decisions"].size(), 2u) << r.out;
  for (const auto& d : doc["decisions"]) {
    if (d["variant"] == "llama-8b-a100") EXPECT_EQ(d["desired"], 3) << d.dump();
    else EXPECT_EQ(d["desired"], 2) << d.dump();
  }
  auto va = server.get("VariantAutoscaling", "llm", "llama-8b");
  ASSERT_TRUE(va);
  const json& status = (*va)["status"];
  auto target = condition(va, "TargetResolved");
  ASSERT_TRUE(target) << status.dump();
  EXPECT_EQ((*target)["status"], "True");
  EXPECT_EQ((*target)["observedGeneration"], 1);
  EXPECT_FALSE((*target).value("lastTransitionTime", "").empty());
  auto metrics = condition(va, "MetricsAvailable");
  ASSERT_TRUE(metrics) << status.dump();
  EXPECT_EQ((*metrics)["status"], "True");
  EXPECT_TRUE(condition(va, "OptimizationReady")) << status.dump();
  // The patch went to the status subresource as a merge patch.
  EXPECT_GE(server.count("PATCH", "/variantautoscalings/llama-8b/status"), 1u);
  EXPECT_EQ(server.count("PUT", "/variantautoscalings/"), 0u);
  // Events on the VA for the recommendations (what `kubectl describe va` shows).
  int recommendations = 0;
  for (const auto& e : server.list("Event"))
    if (e["involvedObject"]["name"] == "llama-8b" && e["reason"] == "ScalingRecommendation") {
      ++recommendations;
      EXPECT_EQ(e["involvedObject"]["kind"], "VariantAutoscaling");
      EXPECT_EQ(e["type"], "Normal");
    }
  EXPECT_EQ(recommendations, 2);  // one per variant, first recommendation
}

TEST(KubeE2E, ADeletedScaleTargetSaysTargetResolvedFalse) {
  FakeApiServer server;
  seed_quickstart(server, "300ms");
  auto va = variant_autoscaling("llm", "llama-h100-only", "meta/llama-h100");
  va["spec"]["scaleTargetRef"] = {{"kind", "Deployment"}, {"name", "llama-8b-h100"}};
  server.create(va);
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  Process p({kWva, "run", "--kubeconfig", kubeconfig, "--health-probe-bind-address", "0"}, controller_env());
  auto target = [&] { return condition(server.get("VariantAutoscaling", "llm", "llama-h100-only"), "TargetResolved"); };
  ASSERT_TRUE(eventually([&] { return target() && (*target())["status"] == "True"; }, 20s, {&p})) << p.err;
  const std::string first_transition = (*target())["lastTransitionTime"];
  ASSERT_TRUE(server.remove("Deployment", "llm", "llama-8b-h100"));
  ASSERT_TRUE(eventually([&] { return target() && (*target())["status"] == "False"; }, 20s, {&p})) << p.err;
  EXPECT_EQ((*target())["reason"], "TargetNotFound");
  EXPECT_EQ((*target())["message"], "Scale target Deployment llama-8b-h100 not found");
  // The Event is posted after the status patch: wait for it too.
  auto warned = [&] {
    for (const auto& e : server.list("Event"))
      if (e["involvedObject"]["name"] == "llama-h100-only" && e["reason"] == "TargetNotFound" && e["type"] == "Warning")
        return true;
    return false;
  };
  EXPECT_TRUE(eventually(warned, 20s, {&p})) << "a Warning event for the missing target";
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(20s), 0) << p.err;
  (void)first_transition;
}

TEST(KubeE2E, DroppedWatchesAndCompactedHistoryLoseNoUpdate) {
  FakeApiServer server;
  seed_quickstart(server, "300ms");
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  Process p({kWva, "run", "--kubeconfig", kubeconfig, "--health-probe-bind-address", "0"}, controller_env());
  ASSERT_TRUE(eventually(
      [&] { return condition(server.get("VariantAutoscaling", "llm", "llama-8b"), "TargetResolved").has_value(); }, 20s,
      {&p}))
      << p.err;
  ASSERT_TRUE(eventually([&] { return server.open_watches() >= 5; }, 10s, {&p}));
  // The API server drops every stream and compacts its history while a new model arrives.
  server.drop_watches();
  server.compact();
  server.create(deployment("llm", "qwen-h100", 1, "qwen.qwen-7b"));
  server.create(variant_autoscaling("llm", "qwen", "qwen/qwen-7b"));
  auto qwen_target = [&] { return condition(server.get("VariantAutoscaling", "llm", "qwen"), "TargetResolved"); };
  ASSERT_TRUE(eventually([&] { return qwen_target() && (*qwen_target())["status"] == "True"; }, 20s, {&p})) << p.err;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(20s), 0);
  EXPECT_NE(p.err.find("410 Gone"), std::string::npos) << p.err;
}

TEST(KubeE2E, AVaChangeStartsACycleSoonerThanTheInterval) {
  FakeApiServer server;
  seed_quickstart(server);
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  // An hour between cycles: only the change can explain a second cycle within seconds.
  Process p({kWva, "run", "--kubeconfig", kubeconfig, "--interval", "1h", "--health-probe-bind-address", "0"},
            controller_env());
  ASSERT_TRUE(eventually(
      [&] { return condition(server.get("VariantAutoscaling", "llm", "llama-8b"), "TargetResolved").has_value(); }, 20s,
      {&p}))
      << p.err;
  server.create(deployment("llm", "qwen-h100", 1, "qwen.qwen-7b"));
  server.create(variant_autoscaling("llm", "qwen", "qwen/qwen-7b"));
  EXPECT_TRUE(eventually(
      [&] { return condition(server.get("VariantAutoscaling", "llm", "qwen"), "TargetResolved").has_value(); }, 15s,
      {&p}))
      << p.err;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(20s), 0);
}

TEST(KubeE2E, ProbesSayAliveAndReadyOnTheirOwnPort) {
  FakeApiServer server;
  seed_quickstart(server, "300ms");
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  const int port = free_port();
  Process p(
      {kWva, "run", "--kubeconfig", kubeconfig, "--health-probe-bind-address", "127.0.0.1:" + std::to_string(port)},
      controller_env());
  httplib::Client probe("127.0.0.1", port);
  ASSERT_TRUE(eventually(
      [&] {
        auto r = probe.Get("/readyz");
        return r && r->status == 200;
      },
      20s, {&p}))
      << p.err;
  auto h = probe.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(20s), 0) << p.err;
}

// Secure metrics: the metrics sink serves HTTPS and checks bearer tokens with the (fake) API's TokenReview
// and SubjectAccessReview, as the chart configures it for Prometheus.
TEST(KubeE2E, SecureMetricsServeRecommendationsToAPermittedTokenOnly) {
  WVA_REQUIRE(fs::exists(kOpenssl)) << "the openssl CLI (Debian package openssl)";
  Pki pki;
  ASSERT_EQ(pki.make_ca("ca"), "");
  ASSERT_EQ(pki.make_server("metrics", "ca"), "");
  FakeApiServer server;
  server.require_token("controller-token");
  server.add_token("prometheus-token", "system:serviceaccount:monitoring:prometheus-k8s");
  server.add_token("other-token", "system:serviceaccount:default:default");
  server.allow_non_resource("system:serviceaccount:monitoring:prometheus-k8s", "/metrics", "get");
  seed_quickstart(server);
  const int metrics_port = free_port();
  std::string yaml = pipelines_yaml("300ms");
  yaml.replace(yaml.find("sinks:\n  status: {}"), std::string("sinks:\n  status: {}").size(),
               "sinks:\n  status: {}\n  metrics:\n    listen: \"127.0.0.1:" + std::to_string(metrics_port) +
                   "\"\n    tls: {certFile: " + pki.file("metrics.crt") + ", keyFile: " + pki.file("metrics.key") +
                   "}\n    auth: {mode: tokenReview}");
  yaml.replace(yaml.find("sinks: [status]"), std::string("sinks: [status]").size(), "sinks: [status, metrics]");
  ASSERT_TRUE(server.update(config_map(kSystemNs, "wva-pipelines", {{"pipelines.yaml", yaml}})).is_object());
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url(), "controller-token");
  Process p({kWva, "run", "--kubeconfig", kubeconfig}, controller_env());
  const std::string url = "https://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  HttpsReply scrape;
  ASSERT_TRUE(eventually(
      [&] {
        scrape = https_get(url, pki.file("ca.crt"), "prometheus-token", 2s);
        return scrape.status == 200 && scrape.body.find("inferno_desired_replicas{") != std::string::npos;
      },
      30s, {&p}))
      << scrape.status << " " << scrape.error << "\n"
      << scrape.body << "\n"
      << p.err;
  EXPECT_NE(scrape.body.find("variant_name=\"llama-8b-a100\""), std::string::npos) << scrape.body;
  auto anonymous = https_get(url, pki.file("ca.crt"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body.find("inferno_"), std::string::npos);
  EXPECT_EQ(https_get(url, pki.file("ca.crt"), "other-token").status, 403);
  EXPECT_GE(server.count("POST", "/apis/authentication.k8s.io/v1/tokenreviews", "Bearer controller-token"), 2u);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(20s), 0) << p.err;
}

TEST(KubeE2E, ValidateReadsTheConfigMapsFromTheApi) {
  FakeApiServer server;
  seed_quickstart(server);
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  auto ok = run({kWva, "validate", "--kubeconfig", kubeconfig}, 60s, controller_env());
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("valid"), std::string::npos);
  auto cm = *server.get("ConfigMap", kSystemNs, "wva-pipelines");
  cm["data"]["pipelines.yaml"] = "pipelines: {default: {source: nowhere}}\n";
  server.update(cm);
  auto bad = run({kWva, "validate", "--kubeconfig", kubeconfig}, 60s, controller_env());
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("pipelines.default.source"), std::string::npos) << bad.err;
}

TEST(KubeE2E, LogLevelFromTheEnvironment) {
  FakeApiServer server;
  seed_quickstart(server);
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  auto env = controller_env();
  env.push_back("LOG_LEVEL=warn");  // later entries win
  auto quiet = run({kWva, "run", "--kubeconfig", kubeconfig, "--once"}, 60s, env);
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find(" info "), std::string::npos) << quiet.err;
  env.back() = "LOG_LEVEL=debug";
  auto chatty = run({kWva, "run", "--kubeconfig", kubeconfig, "--once"}, 60s, env);
  ASSERT_EQ(chatty.code, 0) << chatty.err;
  EXPECT_NE(chatty.err.find(" info connected to API server"), std::string::npos) << chatty.err;
  EXPECT_NE(chatty.err.find(" debug "), std::string::npos) << chatty.err;
}

// ------------------------------------------------------------------------------------ leader election

TEST(KubeE2E, TwoReplicasWithLeaderElectionPublishOnceAndFailOver) {
  FakeApiServer server;
  seed_quickstart(server, "300ms");
  TempDir dir;
  const auto config_a = write_kubeconfig(dir.file("a"), server.url(), "token-a");
  const auto config_b = write_kubeconfig(dir.file("b"), server.url(), "token-b");
  const std::vector<std::string> flags = {"--leader-elect",
                                          "--leader-elect-lease-duration",
                                          "3s",
                                          "--leader-elect-renew-deadline",
                                          "2s",
                                          "--leader-elect-retry-period",
                                          "250ms",
                                          "--health-probe-bind-address",
                                          "0"};
  auto start = [&](const std::string& config, const std::string& pod) {
    std::vector<std::string> argv = {kWva, "run", "--kubeconfig", config};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return std::make_unique<Process>(argv, controller_env(pod));
  };
  auto a = start(config_a, "wva-a");
  auto b = start(config_b, "wva-b");
  auto holder = [&]() -> std::string {
    auto lease = server.get("Lease", kSystemNs, "workload-variant-autoscaler-leader");
    return lease ? (*lease)["spec"].value("holderIdentity", "") : "";
  };
  ASSERT_TRUE(eventually([&] { return !holder().empty(); }, 20s, {a.get(), b.get()})) << a->err << b->err;
  const bool a_leads = holder().starts_with("wva-a_");
  Process* leader = a_leads ? a.get() : b.get();
  Process* standby = a_leads ? b.get() : a.get();
  const std::string leader_token = a_leads ? "Bearer token-a" : "Bearer token-b";
  const std::string standby_token = a_leads ? "Bearer token-b" : "Bearer token-a";
  ASSERT_TRUE(eventually(
      [&] { return condition(server.get("VariantAutoscaling", "llm", "llama-8b"), "TargetResolved").has_value(); }, 20s,
      {a.get(), b.get()}));
  // Several cycles of both: only the leader wrote.
  std::this_thread::sleep_for(1500ms);
  for (auto* p : {a.get(), b.get()}) p->pump(10ms);
  EXPECT_GE(server.count("PATCH", "/status", leader_token), 1u);
  EXPECT_EQ(server.count("PATCH", "/status", standby_token), 0u);

  // SIGKILL: no release; the standby takes over once the Lease is a lease duration old.
  const auto killed = std::chrono::steady_clock::now();
  leader->signal(SIGKILL);
  const std::string standby_prefix = a_leads ? "wva-b_" : "wva-a_";
  ASSERT_TRUE(eventually([&] { return holder().starts_with(standby_prefix); }, 10s, {standby})) << standby->err;
  const auto takeover = std::chrono::steady_clock::now() - killed;
  // One lease duration (3 s) plus one retry period of the standby's polling, and scheduling slack.
  EXPECT_LT(takeover, 3s + 250ms + 750ms) << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count();
  // The new leader publishes: clear the status, it is written again, by the new leader.
  auto va = *server.get("VariantAutoscaling", "llm", "llama-8b");
  va.erase("status");
  {
    httplib::Client c("127.0.0.1", server.port());
    c.Patch("/apis/llmd.ai/v1alpha1/namespaces/llm/variantautoscalings/llama-8b/status",
            R"({"status":{"conditions":null,"desiredOptimizedAlloc":null}})", "application/merge-patch+json");
  }
  ASSERT_TRUE(eventually([&] { return server.count("PATCH", "/status", standby_token) >= 1; }, 10s, {standby}))
      << standby->err;

  // SIGTERM releases the Lease: a fresh replica takes over at its next retry, well within a lease duration.
  auto c = start(a_leads ? config_a : config_b, "wva-c");
  ASSERT_TRUE(eventually([&] { return c->err.find("candidate") != std::string::npos; }, 10s, {c.get(), standby}));
  std::this_thread::sleep_for(500ms);  // c has observed the Lease held by the standby
  const auto terminated = std::chrono::steady_clock::now();
  standby->signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return holder().starts_with("wva-c_"); }, 10s, {c.get(), standby})) << c->err;
  EXPECT_LT(std::chrono::steady_clock::now() - terminated, 2500ms);
  EXPECT_EQ(standby->wait(10s), 0) << standby->err;
  EXPECT_NE(standby->err.find("released Lease"), std::string::npos) << standby->err;
  c->signal(SIGTERM);
  EXPECT_EQ(c->wait(10s), 0);
}

// ------------------------------------------------------------------------------------ shards on Leases

// The models of every complete `--output json` line of `out` from byte `from` on, one set per cycle.
std::vector<std::set<std::string>> cycles_since(const std::string& out, std::size_t from) {
  std::vector<std::set<std::string>> cycles;
  std::size_t pos = from;
  for (std::size_t nl; (nl = out.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    auto doc = json::parse(out.substr(pos, nl - pos), nullptr, false);
    if (doc.is_discarded() || !doc.contains("decisions")) continue;
    std::set<std::string> models;
    for (const auto& d : doc["decisions"]) models.insert(d.value("namespace", "") + "/" + d.value("model", ""));
    cycles.push_back(std::move(models));
  }
  return cycles;
}

// The models of the last complete cycle in `out` (empty before the first).
std::set<std::string> last_cycle(const std::string& out) {
  const std::size_t end = out.rfind('\n');
  if (end == std::string::npos) return {};
  const std::size_t begin = end == 0 ? std::string::npos : out.rfind('\n', end - 1);
  auto cycles = cycles_since(out.substr(0, end + 1), begin == std::string::npos ? 0 : begin + 1);
  return cycles.empty() ? std::set<std::string>{} : cycles.back();
}

// Every model of `all` decided by exactly one of the processes, from their latest cycles.
bool partitioned(const std::vector<Process*>& procs, const std::set<std::string>& all) {
  std::set<std::string> seen;
  for (auto* p : procs) {
    for (const auto& m : last_cycle(p->out))
      if (!seen.insert(m).second) return false;
  }
  return seen == all;
}

TEST(KubeE2E, ThreeShardedReplicasDecideEveryModelOnceAndTakeOverADeadOnesShards) {
  FakeApiServer server;
  seed_quickstart(server, "300ms");
  std::set<std::string> all = {"llm/meta/llama-3.1-8b"};
  // WVA_E2E_SHARD_MODELS: a larger fleet for a measurement (docs/benchmarks.md); 9 by default.
  const char* fleet = std::getenv("WVA_E2E_SHARD_MODELS");
  const int extra = fleet && std::atoi(fleet) > 0 ? std::min(std::atoi(fleet), 20000) : 9;
  for (int i = 0; i < extra; ++i) {
    const std::string name = "model-" + std::to_string(i), ns = i % 2 ? "llm" : "team-a";
    server.create(deployment(ns, name, 1, "org." + name));
    server.create(replicaset(ns, name, "5c6d7"));
    server.create(pod(ns, name + "-5c6d7", name, "a1b2c"));
    server.create(variant_autoscaling(ns, name, "org/" + name));
    all.insert(ns + "/org/" + name);
  }
  TempDir dir;
  const auto kubeconfig = write_kubeconfig(dir.file("config"), server.url());
  std::vector<std::unique_ptr<Process>> procs;
  for (const char* pod : {"wva-a", "wva-b", "wva-c"})
    procs.push_back(std::make_unique<Process>(
        std::vector<std::string>{kWva, "run", "--kubeconfig", kubeconfig, "--output", "json", "--leader-elect",
                                 "--shards", "3", "--leader-elect-lease-duration", "3s",
                                 "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "250ms",
                                 "--health-probe-bind-address", "0"},
        controller_env(pod)));
  std::vector<Process*> live = {procs[0].get(), procs[1].get(), procs[2].get()};
  auto errs = [&] {
    std::string e;
    for (auto& p : procs) e += p->err;
    return e;
  };
  // Settled: one shard each (3 shards, 3 replicas), every model decided by exactly one process.
  auto holders = [&] {
    std::set<std::string> h;
    for (std::size_t i = 0; i < 3; ++i) {
      auto lease = server.get("Lease", kSystemNs, "workload-variant-autoscaler-leader-shard-" + std::to_string(i));
      if (lease) h.insert((*lease)["spec"].value("holderIdentity", ""));
    }
    return h;
  };
  ASSERT_TRUE(eventually([&] { return holders().size() == 3 && !holders().count("") && partitioned(live, all); },
                         30s + extra * 10ms, live))
      << errs();
  // Every cycle of a settled window: no model decided by two processes, and every model decided.
  std::vector<std::size_t> offsets;
  for (auto* p : live) offsets.push_back(p->out.size());
  // Reading their output all along (a cycle's line can be larger than a pipe holds).
  for (const auto end = std::chrono::steady_clock::now() + 1500ms; std::chrono::steady_clock::now() < end;)
    for (auto* p : live) p->pump(10ms);
  std::map<std::string, std::size_t> decided_by;
  for (std::size_t k = 0; k < live.size(); ++k)
    for (const auto& cycle : cycles_since(live[k]->out, offsets[k]))
      for (const auto& m : cycle) {
        auto [it, fresh] = decided_by.emplace(m, k);
        EXPECT_EQ(it->second, k) << m << " decided by processes " << it->second << " and " << k;
      }
  EXPECT_EQ(decided_by.size(), all.size());

  // SIGKILL the one with the most models: nothing released; the others take its shard over once its Lease
  // is a lease duration old, and decide its models.
  std::size_t victim = 0, most = 0;
  for (std::size_t k = 0; k < live.size(); ++k)
    if (auto c = last_cycle(live[k]->out); c.size() > most) {
      most = c.size();
      victim = k;
    }
  ASSERT_GT(most, 0u);
  const auto killed = std::chrono::steady_clock::now();
  live[victim]->signal(SIGKILL);
  live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
  ASSERT_TRUE(eventually([&] { return partitioned(live, all); }, 15s, live)) << errs();
  const auto again = std::chrono::steady_clock::now() - killed;
  std::cout << "every model decided again " << std::chrono::duration_cast<std::chrono::milliseconds>(again).count()
            << " ms after the SIGKILL (" << all.size() << " models)\n";
  // A lease duration (3 s), a retry period, the cycle the takeover starts (at most the 1 s of a cluster
  // change's debounce, the interval is 300 ms), and scheduling slack.
  EXPECT_LT(again, 3s + 250ms + 1s + 750ms) << std::chrono::duration_cast<std::chrono::milliseconds>(again).count();
  EXPECT_NE(errs().find("acquired shard"), std::string::npos);
  for (auto* p : live) p->signal(SIGTERM);
  for (auto* p : live) EXPECT_EQ(p->wait(10s), 0) << p->err;
  // SIGTERM released every shard Lease.
  for (std::size_t i = 0; i < 3; ++i) {
    auto lease = server.get("Lease", kSystemNs, "workload-variant-autoscaler-leader-shard-" + std::to_string(i));
    ASSERT_TRUE(lease);
    EXPECT_EQ((*lease)["spec"].value("holderIdentity", "x"), "") << "shard " << i;
  }
}

// -------------------------------------------------------------------------------------------- bad input

// One line on stderr (after the log lines, which carry a timestamp) naming the cause.
std::string last_line(const std::string& err) {
  std::string s = err;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

TEST(KubeE2E, BadInputGivesOneClearLine) {
  TempDir dir;
  {
    const auto cfg = write_kubeconfig(dir.file("unreachable"), "http://127.0.0.1:1");
    auto r = run({kWva, "run", "--kubeconfig", cfg, "--once"}, 60s, controller_env());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(last_line(r.err).find("http://127.0.0.1:1"), std::string::npos) << r.err;
    EXPECT_NE(last_line(r.err).find("reachable"), std::string::npos) << r.err;
  }
  {
    auto r = run({kWva, "run", "--kubeconfig", dir.file("missing"), "--once"}, 60s, controller_env());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(last_line(r.err).find(dir.file("missing") + " (--kubeconfig): cannot read the file"), std::string::npos)
        << r.err;
  }
  FakeApiServer server;
  seed_quickstart(server);
  {
    const auto cfg = write_kubeconfig(dir.file("config"), server.url());
    auto r = run({kWva, "run", "--kubeconfig", cfg, "--context", "staging", "--once"}, 60s, controller_env());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(last_line(r.err).find("context \"staging\" not found (contexts: fake)"), std::string::npos) << r.err;
  }
  {
    server.require_token("right");
    const auto cfg = write_kubeconfig(dir.file("wrong"), server.url(), "wrong");
    auto r = run({kWva, "run", "--kubeconfig", cfg, "--once"}, 60s, controller_env());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(last_line(r.err).find("HTTP 401 Unauthorized"), std::string::npos) << r.err;
    server.require_token("");
  }
  {
    // A VA without spec.modelID: one warning naming it, the other model still decided.
    json bad = variant_autoscaling("llm", "broken", "");
    bad["spec"].erase("modelID");
    server.create(bad);
    const auto cfg = write_kubeconfig(dir.file("config"), server.url());
    auto r = run({kWva, "run", "--kubeconfig", cfg, "--once", "--output", "json"}, 60s, controller_env());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("broken: spec.modelID is missing"), std::string::npos) << r.err;
    EXPECT_EQ(json::parse(r.out)["decisions"].size(), 2u);
  }
}

// ----------------------------------------------------------------------------------------------- kubectl

// The real kubectl proves the fake speaks the protocol: discovery, get (with the VA's short name), scale.
TEST(KubeE2E, KubectlTalksToTheFake) {
  std::string kubectl;
  if (const char* env = std::getenv("KUBECTL"); env && *env) kubectl = env;
  // Else the first kubectl on PATH (scripts/test.sh puts .cache/bin, where install-k8s-tool.sh puts it, there).
  if (kubectl.empty())
    if (const char* path = std::getenv("PATH")) {
      std::istringstream dirs(path);
      for (std::string dir; kubectl.empty() && std::getline(dirs, dir, ':');)
        if (!dir.empty() && ::access((fs::path(dir) / "kubectl").c_str(), X_OK) == 0)
          kubectl = (fs::path(dir) / "kubectl").string();
    }
  if (kubectl.empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "kubectl not found (set KUBECTL or put kubectl on PATH); CI=true";
    GTEST_SKIP() << "kubectl not found; set KUBECTL";
  }
  FakeApiServer server;
  seed_quickstart(server);
  TempDir dir;
  const auto cfg = write_kubeconfig(dir.file("config"), server.url());
  const std::vector<std::string> base = {kubectl,           "--kubeconfig",      cfg,  "--cache-dir",
                                         dir.file("cache"), "--request-timeout", "10s"};
  auto kc = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, 60s, {"HOME=" + dir.path.string()});
  };
  auto va = kc({"get", "va", "-n", "llm", "-o", "json"});
  ASSERT_EQ(va.code, 0) << va.err;
  auto list = json::parse(va.out);
  ASSERT_EQ(list["items"].size(), 1u) << va.out;
  EXPECT_EQ(list["items"][0]["spec"]["modelID"], "meta/llama-3.1-8b");
  auto deploys = kc({"get", "deployments", "-n", "llm"});
  ASSERT_EQ(deploys.code, 0) << deploys.err;
  EXPECT_NE(deploys.out.find("llama-8b-a100"), std::string::npos) << deploys.out;
  auto scaled = kc({"scale", "deployment", "llama-8b-a100", "-n", "llm", "--replicas=5"});
  ASSERT_EQ(scaled.code, 0) << scaled.err;
  EXPECT_EQ((*server.get("Deployment", "llm", "llama-8b-a100"))["spec"]["replicas"], 5);
  auto missing = kc({"get", "va", "nope", "-n", "llm"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace wva::testing
