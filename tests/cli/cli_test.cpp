// The `wva` binary as scripts and operators use it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "wva/sdk/abi.h"

namespace {

namespace fs = std::filesystem;
using wva::testing::Process;
using wva::testing::run;

const std::string kWva = std::string(WVA_BUILD_DIR) + "/bin/wva";
const std::string kQuickstart = std::string(WVA_SOURCE_DIR) + "/examples/quickstart";

// A scratch copy of the quickstart whose files a test may change.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name) {
    path = fs::temp_directory_path() / ("wva-cli-" + name + "-" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    for (const auto& e : fs::directory_iterator(kQuickstart)) fs::copy(e.path(), path / e.path().filename());
  }
  ~ScratchDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const { std::ofstream(path / file) << text; }
};

std::string pipelines_configmap(const std::string& pipelines_yaml) {
  std::string indented;
  std::istringstream in(pipelines_yaml);
  for (std::string line; std::getline(in, line);) indented += "    " + line + "\n";
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wva-pipelines\n"
         "  namespace: workload-variant-autoscaler-system\ndata:\n  pipelines.yaml: |\n" +
         indented;
}

TEST(Cli, VersionNamesTheAbi) {
  auto r = run({kWva, "version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("SDK ABI " + std::to_string(WVA_SDK_ABI_MAJOR) + "."), std::string::npos) << r.out;
}

TEST(Cli, UnknownVerbIsAUsageError) {
  auto r = run({kWva, "frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos);
}

TEST(Cli, PluginsListsEveryBuiltPlugin) {
  auto r = run({kWva, "plugins"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"saturation", "queueing", "prometheus", "emulator", "status", "metrics", "log"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("\\n") + name + " +[a-z,-]+ +\\S+ +" +
                                                    std::to_string(WVA_SDK_ABI_MAJOR) + "\\.\\d+ +/")))
        << name << " missing in:\n"
        << r.out;
  // The combiners, with their kind.
  for (const char* name : {"first", "max", "last", "hybrid"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("\\n") + name + " +combiner +\\S+ +" +
                                                    std::to_string(WVA_SDK_ABI_MAJOR) + "\\.\\d+ +/")))
        << name << " missing in:\n"
        << r.out;
}

TEST(Cli, PluginsReportsRefusedLibrariesWithTheReason) {
  auto r = run({kWva, "plugins", "--plugin-path", WVA_TEST_PLUGIN_DIR});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("test-good-analyzer"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("libtest-bad-abi.so refused: SDK ABI"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("libtest-missing-symbol.so refused: missing symbol"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("libtest-foreign-toolchain.so refused: built with toolchain msvc-19"), std::string::npos)
      << r.err;
}

TEST(Cli, ValidateAcceptsTheQuickstart) {
  auto r = run({kWva, "validate", "--local", kQuickstart});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Cli, ValidateReportsEveryErrorWithItsPath) {
  ScratchDir dir("validate");
  dir.write("30-config.yaml", pipelines_configmap(R"(sources:
  emulator: {fixedMetrics: {}}
analyzers:
  saturation: {}
sinks:
  log: {format: yaml}
pipelines:
  default:
    interval: 10 parsecs
    source: emulater
    analyzers: [saturation, queuing]
    sink: [log]
)"));
  auto r = run({kWva, "validate", "--local", dir.path.string()});
  EXPECT_EQ(r.code, 1);
  for (const char* expected :
       {"pipelines.default.interval: ", "pipelines.default.source: ", "did you mean \"emulator\"",
        "pipelines.default.analyzers[1]: ", "pipelines.default.sink: ", "did you mean \"sinks\""})
    EXPECT_NE(r.err.find(expected), std::string::npos) << "missing <" << expected << "> in:\n" << r.err;
  // One error per line, each "path: message".
  std::istringstream lines(r.err);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    ++count;
    EXPECT_TRUE(std::regex_search(line, std::regex(R"(^[A-Za-z0-9_.\[\]-]+: )"))) << line;
  }
  EXPECT_GE(count, 4);
}

TEST(Cli, ValidateChecksPluginSettingsToo) {
  ScratchDir dir("plugin-settings");
  dir.write("30-config.yaml", pipelines_configmap(R"(sources:
  emulator: {fixedMetrics: {llama-8b-h100: [{kvCacheUsage: 7}]}}
analyzers:
  saturation: {}
sinks:
  log: {format: yaml}
pipelines:
  default: {source: emulator, analyzers: [saturation], sinks: [log]}
)"));
  auto r = run({kWva, "validate", "--local", dir.path.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("sources.emulator.fixedMetrics.llama-8b-h100[0].kvCacheUsage"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sinks.log.format"), std::string::npos) << r.err;
}

TEST(Cli, ValidateChecksTheConfigMapsAnalyzersRead) {
  ScratchDir dir("validate-configmap");
  std::ofstream(dir.path / "35-bad-threshold.yaml") << R"(apiVersion: v1
kind: ConfigMap
metadata: {name: capacity-scaling-config, namespace: llm}
data:
  default: |
    kvCacheThreshold: 1.5
)";
  auto r = run({kWva, "validate", "--local", dir.path.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("analyzers.saturation: ConfigMap llm/capacity-scaling-config: data.default.kvCacheThreshold: "
                       "must be in [0,1]"),
            std::string::npos)
      << r.err;
}

// `wva validate --config FILE` with no --local and no cluster checks the file itself, as
// `promtool check config` does, and says what it could not check.
TEST(Cli, ValidateOfflineChecksAPipelinesFileAlone) {
  ScratchDir dir("offline");
  dir.write("pipelines.yaml", R"(sources:
  prometheus: {url: "http://127.0.0.1:9090"}
analyzers:
  saturation: {}
sinks:
  log: {format: json}
pipelines:
  default:
    selector: {namespaces: [llm]}
    interval: 30s
    source: prometheus
    analyzers: [saturation]
    sinks: [log]
)");
  const std::string file = (dir.path / "pipelines.yaml").string();
  // No in-cluster service account and no kubeconfig anywhere: nothing to check the file against.
  const std::vector<std::string> no_cluster = {"KUBERNETES_SERVICE_HOST=", "KUBECONFIG=", "HOME=" + dir.path.string()};
  auto ok = run({kWva, "validate", "--config", file}, std::chrono::seconds(60), no_cluster);
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("valid (offline)"), std::string::npos) << ok.out;
  EXPECT_NE(ok.err.find("not checked offline"), std::string::npos) << ok.err;
  auto explicit_offline = run({kWva, "validate", "--offline", "--config", file});
  EXPECT_EQ(explicit_offline.code, 0) << explicit_offline.err;
  // A cluster that is named but broken is an error, not a reason to fall back to offline.
  auto broken = run({kWva, "validate", "--config", file, "--kubeconfig", (dir.path / "missing").string()});
  EXPECT_EQ(broken.code, 1) << broken.out;
  EXPECT_NE(broken.err.find("missing"), std::string::npos) << broken.err;

  // Structure first: every error of the file, each with its path.
  dir.write("pipelines.yaml", R"(sources:
  prometheus: {url: "http://127.0.0.1:9090"}
analyzers:
  saturation: {}
pipelines:
  default:
    selector: {namespace: [llm]}
    interval: 10 parsecs
    source: prometheus
    analyzers: [saturation]
)");
  auto bad = run({kWva, "validate", "--offline", "--config", file});
  EXPECT_EQ(bad.code, 1);
  for (const char* expected : {"pipelines.default.interval: ", "pipelines.default.selector.namespace: "})
    EXPECT_NE(bad.err.find(expected), std::string::npos) << "missing <" << expected << "> in:\n" << bad.err;
  // Then the plugins: a name no plugin has, and settings a plugin rejects.
  dir.write("pipelines.yaml", R"(sources:
  prometheus: {url: "http://127.0.0.1:9090"}
analyzers:
  saturation: {}
  frobnicator: {}
sinks:
  log: {format: yaml}
pipelines:
  default: {source: prometheus, analyzers: [saturation, frobnicator], sinks: [log]}
)");
  bad = run({kWva, "validate", "--offline", "--config", file});
  EXPECT_EQ(bad.code, 1);
  for (const char* expected : {"analyzers.frobnicator", "sinks.log.format: "})
    EXPECT_NE(bad.err.find(expected), std::string::npos) << "missing <" << expected << "> in:\n" << bad.err;
}

TEST(Cli, ValidateOfflineRefusesLocal) {
  auto r = run({kWva, "validate", "--offline", "--local", kQuickstart});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--offline and --local"), std::string::npos) << r.err;
}

TEST(Cli, RunOncePrintsOneJsonDocument) {
  auto r = run({kWva, "run", "--local", kQuickstart, "--once", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);  // throws (fails) on anything but exactly one document
  ASSERT_EQ(doc["decisions"].size(), 2u) << r.out;
  for (const auto& d : doc["decisions"])
    for (const char* key : {"namespace", "model", "variant", "accelerator", "current", "desired", "reason", "analyzer"})
      EXPECT_TRUE(d.contains(key)) << key;
  // The quickstart's pods are near saturation: one more replica of the cheaper variant (A100 30 < H100 50).
  for (const auto& d : doc["decisions"]) {
    EXPECT_EQ(d["namespace"], "llm");
    EXPECT_EQ(d["model"], "meta/llama-3.1-8b");
    if (d["variant"] == "llama-8b-a100") {
      EXPECT_EQ(d["accelerator"], "A100");
      EXPECT_EQ(d["desired"], 3) << d.dump();
    } else {
      EXPECT_EQ(d["variant"], "llama-8b-h100");
      EXPECT_EQ(d["desired"], 2) << d.dump();
    }
  }
}

// ------------------------------------------------------------------------------------------ sharding

// The contract of docs/kubernetes.md, written out again here: FNV-1a 64 of "namespace/modelID" mod N.
std::size_t reference_shard(const std::string& ns, const std::string& model_id, std::size_t shards) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : ns + "/" + model_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h % shards);
}

// The quickstart plus `count` more models (a Deployment and a VA each) in two namespaces.
void add_models(const ScratchDir& dir, int count) {
  std::string yaml;
  for (int i = 0; i < count; ++i) {
    const std::string ns = i % 2 ? "llm" : "team-a", name = "model-" + std::to_string(i);
    yaml += "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "-h100\n  namespace: " + ns +
            "\n  labels: {llmd.ai/model: org." + name +
            "}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: " + name +
            "}\n  template:\n    metadata:\n      labels: {app: " + name + ", llmd.ai/model: org." + name +
            "}\n    spec:\n      nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}\n"
            "      containers:\n        - name: vllm\n          image: vllm/vllm-openai:v0.8.5\n"
            "          resources:\n            limits: {nvidia.com/gpu: \"1\"}\n---\n"
            "apiVersion: llmd.ai/v1alpha1\nkind: VariantAutoscaling\nmetadata:\n  name: " +
            name + "\n  namespace: " + ns + "\nspec:\n  modelID: org/" + name +
            "\n  minReplicas: 1\n  maxReplicas: 10\n---\n";
  }
  dir.write("40-more-models.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\n" + yaml);
}

std::set<std::string> decided_models(const std::string& out) {
  std::set<std::string> models;
  const auto doc = nlohmann::json::parse(out);
  for (const auto& d : doc["decisions"])
    models.insert(d["namespace"].get<std::string>() + "/" + d["model"].get<std::string>());
  return models;
}

TEST(Cli, StaticShardsDecideAndPublishEachModelInExactlyOneShard) {
  ScratchDir dir("shards");
  add_models(dir, 12);
  auto whole = run({kWva, "run", "--local", dir.path.string(), "--once", "--output", "json"});
  ASSERT_EQ(whole.code, 0) << whole.err;
  const auto all = decided_models(whole.out);
  ASSERT_EQ(all.size(), 13u) << whole.out;
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("shard " + std::to_string(i));
    // Outside the --local folder (whose files are the manifests).
    const std::string status = dir.path.string() + "-status-" + std::to_string(i) + ".json";
    auto r = run({kWva, "run", "--local", dir.path.string(), "--once", "--output", "json", "--shards", "3",
                  "--shard-index", std::to_string(i), "--status-file", status});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto mine = decided_models(r.out);
    EXPECT_FALSE(mine.empty());
    for (const auto& m : mine) {
      const auto slash = m.find('/');
      EXPECT_EQ(reference_shard(m.substr(0, slash), m.substr(slash + 1), 3), static_cast<std::size_t>(i)) << m;
      EXPECT_TRUE(seen.insert(m).second) << m << " decided by two shards";
    }
    // Published (the status sink) for the shard's VAs only; the others' status is left alone.
    std::ifstream in(status);
    auto statuses = nlohmann::json::parse(in);
    fs::remove(status);
    ASSERT_EQ(statuses.size(), 13u);
    for (const auto& [va, st] : statuses.items()) {
      const std::string ns = va.substr(0, va.find('/')), name = va.substr(va.find('/') + 1);
      const std::string model = name == "llama-8b" ? "meta/llama-3.1-8b" : "org/" + name;
      EXPECT_EQ(st.contains("conditions"), reference_shard(ns, model, 3) == static_cast<std::size_t>(i))
          << va << ": " << st.dump();
    }
  }
  EXPECT_EQ(seen, all);  // total: the three shards together decide every model
}

TEST(Cli, ShardFlagsAreValidated) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--shards", "0"}, "--shards must be between 1 and 1024, not 0"},
      {{"--shards", "3", "--shard-index", "3"}, "--shard-index must be between 0 and 2 (--shards 3), not 3"},
      {{"--shards", "3", "--shard-index", "-1"}, "--shard-index must be between 0 and 2"},
      {{"--shards", "3"}, "--shards 3 needs --shard-index I"},
      {{"--shards", "3", "--shard-index", "1", "--leader-elect"}, "--shard-index (a fixed shard) and --leader-elect"},
      {{"--shards", "3", "--leader-elect", "--once"}, "--once cannot hold shard Leases"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> argv = {kWva, "run"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = run(argv);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
}

// `--output json` is exactly one JSON document on stdout whatever the sinks print: here one log sink
// asks for stdout explicitly and another uses its default (stderr); both texts end up on stderr.
TEST(Cli, RunOnceJsonStaysOneDocumentWithLogSinks) {
  ScratchDir dir("json-log");
  dir.write("30-config.yaml", pipelines_configmap(R"(sources:
  emulator:
    fixedMetrics:
      llama-8b-h100: [{kvCacheUsage: 0.78, waiting: 2, running: 24}, {kvCacheUsage: 0.74, waiting: 1, running: 22}]
      llama-8b-a100: [{kvCacheUsage: 0.85, waiting: 0, running: 30}, {kvCacheUsage: 0.60, waiting: 1, running: 18}]
analyzers:
  saturation: {}
sinks:
  log: {format: text, output: stdout}
  log-default: {plugin: log}
pipelines:
  default: {source: emulator, analyzers: [saturation], sinks: [log, log-default]}
)"));
  auto r = run({kWva, "run", "--local", dir.path.string(), "--once", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);  // discarded unless stdout is one document
  ASSERT_FALSE(doc.is_discarded()) << "stdout is not one JSON document:\n" << r.out;
  ASSERT_EQ(doc["decisions"].size(), 2u) << r.out;
  // Both log sinks wrote their text line for the A100 variant, to stderr.
  std::size_t lines = 0;
  for (std::size_t at = r.err.find("llama-8b-a100"); at != std::string::npos; at = r.err.find("llama-8b-a100", at + 1))
    ++lines;
  EXPECT_GE(lines, 2u) << r.err;
  EXPECT_NE(r.err.find("desired=3"), std::string::npos) << r.err;
}

TEST(Cli, RunWithoutClusterBackendSaysWhatToDo) {
  auto r = run({kWva, "run", "--once"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--local DIR"), std::string::npos) << r.err;
}

TEST(Cli, BadDurationIsRejected) {
  auto r = run({kWva, "run", "--local", kQuickstart, "--interval", "fast"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--interval"), std::string::npos) << r.err;
}

TEST(Cli, SigtermStopsGracefully) {
  Process p({kWva, "run", "--local", kQuickstart, "--interval", "200ms", "--output", "json"});
  ASSERT_TRUE(p.wait_for_stdout("\"decisions\"", std::chrono::seconds(20))) << p.err;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0) << p.err;
  EXPECT_NE(p.err.find("stopping"), std::string::npos) << p.err;
}

TEST(Cli, DurationEndsTheRun) {
  auto r = run({kWva, "run", "--local", kQuickstart, "--interval", "100ms", "--duration", "450ms", "--output", "json"},
               std::chrono::seconds(20));
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  int cycles = 0;
  for (std::string line; std::getline(lines, line);) cycles += nlohmann::json::parse(line).contains("decisions");
  // Due at t = 0, 100, 200, 300, 400 ms; a slow (sanitizer) build may skip due times but never adds any.
  EXPECT_GE(cycles, 2);
  EXPECT_LE(cycles, 5);
}

TEST(Cli, InvalidConfigEditIsRejectedAndTheLastGoodKeepsRunning) {
  ScratchDir dir("reload");
  Process p({kWva, "run", "--local", dir.path.string(), "--interval", "100ms", "--output", "json"});
  ASSERT_TRUE(p.wait_for_stdout("\"decisions\"", std::chrono::seconds(20))) << p.err;
  dir.write("30-config.yaml", pipelines_configmap("pipelines: {default: {source: nowhere}}\n"));
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // The rejection line and the error lines under it arrive in separate writes: wait for both.
  while ((p.err.find("rejected") == std::string::npos || p.err.find("pipelines.default.source") == std::string::npos) &&
         std::chrono::steady_clock::now() < end)
    p.pump(std::chrono::milliseconds(100));
  EXPECT_NE(p.err.find("rejected"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("pipelines.default.source"), std::string::npos) << p.err;
  // Decisions keep coming from the last good configuration.
  const auto seen = p.out.size();
  const auto end2 = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (p.out.size() == seen && std::chrono::steady_clock::now() < end2) p.pump(std::chrono::milliseconds(100));
  EXPECT_GT(p.out.size(), seen);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0);
}

// Two pipelines: `default` (quickstart, saturation) and `broken` (namespace `other`) whose analyzer is
// `broken_plugin`.
void write_two_pipelines(const ScratchDir& dir, const std::string& broken_plugin) {
  dir.write("40-other.yaml", R"(apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other-h100, namespace: other}
spec:
  replicas: 3
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      nodeSelector: {nvidia.com/gpu.product: H100}
      containers: [{name: vllm, image: vllm/vllm-openai:v0.8.5}]
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: other, namespace: other}
spec:
  modelID: other/model
  scaleTargetRef: {kind: Deployment, name: other-h100}
)");
  dir.write("30-config.yaml", pipelines_configmap(std::string(R"(plugins: {paths: [)") + WVA_TEST_PLUGIN_DIR + R"(]}
sources:
  emulator:
    fixedMetrics:
      llama-8b-h100: [{kvCacheUsage: 0.78, waiting: 2, running: 24}, {kvCacheUsage: 0.74, waiting: 1, running: 22}]
      llama-8b-a100: [{kvCacheUsage: 0.85, waiting: 0, running: 30}, {kvCacheUsage: 0.60, waiting: 1, running: 18}]
      other-h100: [{kvCacheUsage: 0.5, waiting: 0, running: 5}]
analyzers:
  saturation: {}
  thrower: {plugin: )" + broken_plugin + R"(}
sinks:
  log: {output: stderr}
pipelines:
  broken:
    selector: {namespaces: [other]}
    source: emulator
    analyzers: [thrower]
    sinks: [log]
  default:
    source: emulator
    analyzers: [saturation]
    sinks: [log]
)") + "\n");
  // The base config file has the other ConfigMaps; keep them.
  std::ofstream(dir.path / "31-costs.yaml") << R"(apiVersion: v1
kind: ConfigMap
metadata: {name: accelerator-unitcost, namespace: workload-variant-autoscaler-system}
data:
  costs: |
    A100: 30.0
    H100: 50.0
)";
}

TEST(Cli, AThrowingPluginHoldsItsPipelineWhileOthersGoOn) {
  ScratchDir dir("isolation");
  write_two_pipelines(dir, "test-throwing-analyzer");
  auto r = run({kWva, "run", "--local", dir.path.string(), "--once", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  int checked = 0;
  for (const auto& d : doc["decisions"]) {
    if (d["namespace"] == "other") {
      EXPECT_EQ(d["desired"], 3);  // current replicas, held
      EXPECT_EQ(d.value("held", false), true);
      ++checked;
    } else if (d["variant"] == "llama-8b-a100") {
      EXPECT_EQ(d["desired"], 3);  // the healthy pipeline decided
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2) << r.out;
  EXPECT_NE(r.err.find("analyzer bug"), std::string::npos) << r.err;
}

TEST(Cli, APluginThatFailsToLoadDisablesOnlyItsPipeline) {
  ScratchDir dir("load-failure");
  write_two_pipelines(dir, "test-bad-abi");
  // validate reports it...
  auto v = run({kWva, "validate", "--local", dir.path.string()});
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.err.find("analyzers.thrower: plugin "), std::string::npos) << v.err;
  // ...run starts anyway: the broken pipeline's model holds, the other pipeline decides.
  auto r = run({kWva, "run", "--local", dir.path.string(), "--once", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  int checked = 0;
  for (const auto& d : doc["decisions"]) {
    if (d["namespace"] == "other") {
      EXPECT_EQ(d["desired"], 3);
      EXPECT_EQ(d.value("held", false), true);
      EXPECT_NE(d["reason"].get<std::string>().find("pipeline broken is disabled"), std::string::npos) << d.dump();
      ++checked;
    } else if (d["variant"] == "llama-8b-a100") {
      EXPECT_EQ(d["desired"], 3);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2) << r.out;
  EXPECT_NE(r.err.find("libtest-bad-abi.so refused: SDK ABI"), std::string::npos) << r.err;
}

// One config mechanism: every plugin's settings are validated by the host against the plugin's schema
// before configure(), so errors in three plugins' settings are all printed, in one wording, with paths.
TEST(Cli, ValidatePrintsEveryErrorOfEveryPluginsSettings) {
  ScratchDir dir("three-plugins");
  dir.write("pipelines.yaml", R"(sources:
  prometheus: {url: "http://127.0.0.1:9090"}
analyzers:
  saturation: {mode: fast, kvHysteresis: 2, countSaturate: true}
  keda-like: {plugin: threshold, signal: qps, targt: 3}
sinks:
  log: {format: xml, output: ""}
pipelines:
  default: {source: prometheus, analyzers: [saturation], sinks: [log]}
  baseline: {source: prometheus, analyzers: [keda-like], sinks: [log]}
)");
  auto r = run({kWva, "validate", "--offline", "--config", (dir.path / "pipelines.yaml").string()});
  EXPECT_EQ(r.code, 1);
  for (const char* expected : {
           "analyzers.saturation.countSaturate: unknown setting; did you mean \"countSaturated\"?",
           "analyzers.saturation.mode: must be one of compatible, improved, got \"fast\"",
           "analyzers.saturation.kvHysteresis: must be a number in [0, 1], got 2",
           "analyzers.keda-like.targt: unknown setting; did you mean \"target\"?",
           "analyzers.keda-like.signal: must be one of concurrency, waiting, kvCache, got \"qps\"",
           "sinks.log.format: must be one of text, json, got \"xml\"",
           "sinks.log.output: must be a string not empty, got \"\"",
       })
    EXPECT_NE(r.err.find(expected), std::string::npos) << "missing <" << expected << "> in:\n" << r.err;
}

TEST(Cli, PluginsDescribePrintsTheSchemaWithDefaults) {
  auto r = run({kWva, "plugins", "--describe", "saturation"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("mode  (one of compatible, improved; default: compatible)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kvHysteresis  (a number in [0, 1]; default: 0.05)"), std::string::npos) << r.out;
  auto md = run({kWva, "plugins", "--describe", "scale-to-zero", "--markdown"});
  ASSERT_EQ(md.code, 0) << md.err;
  EXPECT_NE(md.out.find("| `retention` | a duration (e.g. 500ms, 15s, 1m30s) in (0s, 168h] | `10m` |"),
            std::string::npos)
      << md.out;
  auto missing = run({kWva, "plugins", "--describe", "frobnicator"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("libfrobnicator.so"), std::string::npos) << missing.err;
}

// Each plugin README's settings table is the one `wva plugins --describe NAME --markdown` prints, between
// "<!-- settings-table NAME -->" and "<!-- /settings-table -->".
TEST(Cli, EveryPluginReadmeSettingsTableIsTheGeneratedOne) {
  const std::string open = "<!-- settings-table ", close = "<!-- /settings-table -->";
  int tables = 0;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(WVA_SOURCE_DIR) + "/plugins")) {
    if (entry.path().filename() != "README.md") continue;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find(open);
    if (at == std::string::npos) continue;
    const auto name_end = text.find(" -->", at);
    const auto end = text.find(close, at);
    ASSERT_NE(name_end, std::string::npos) << entry.path();
    ASSERT_NE(end, std::string::npos) << entry.path() << ": no " << close;
    const std::string name = text.substr(at + open.size(), name_end - at - open.size());
    const std::string table = text.substr(name_end + 5, end - name_end - 5);
    auto r = run({kWva, "plugins", "--describe", name, "--markdown"});
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
    EXPECT_EQ(table, r.out) << entry.path() << " is stale; regenerate it with: wva plugins --describe " << name
                            << " --markdown";
    ++tables;
  }
  EXPECT_GE(tables, 6);  // every converted plugin has one
}

}  // namespace
