// Issue 14 through the real `wva` binary: inputs that crashed it or printed broken errors. Each test
// names the defect it pins; the units are in tests/framework_config/input_limits_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <csignal>

#include "subprocess.h"

namespace {

namespace fs = std::filesystem;
using wva::testing::Process;
using wva::testing::run;

const std::string kWva = std::string(WVA_BUILD_DIR) + "/bin/wva";
const std::string kQuickstart = std::string(WVA_SOURCE_DIR) + "/examples/quickstart";

struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name) {
    path = fs::temp_directory_path() / ("wva-reliability-" + name + "-" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    for (const auto& e : fs::directory_iterator(kQuickstart)) fs::copy(e.path(), path / e.path().filename());
  }
  ~ScratchDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path / file, std::ios::binary) << text;
  }
};

std::string deep_json(std::size_t depth) {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep","namespace":"llm"},"spec":)" +
         std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string billion_laughs_configmap() {
  std::string out = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol, namespace: llm}\nspec:\n";
  out += "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    out += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) out += ", " + prev;
    out += "]\n";
  }
  return out;
}

// Defect 1: SIGSEGV (exit by signal, -1 here) on a 200,000-deep JSON manifest in validate and run.
TEST(CliReliability, Defect1DeepManifestIsAnErrorInValidateAndRun) {
  ScratchDir dir("deep");
  dir.write("40-deep.json", deep_json(200'000));
  for (const char* verb : {"validate", "run"}) {
    std::vector<std::string> argv = {kWva, verb, "--local", dir.path.string()};
    if (std::string(verb) == "run") argv.push_back("--once");
    auto r = run(argv);
    EXPECT_EQ(r.code, 1) << verb << ": " << r.err;
    EXPECT_NE(r.err.find("40-deep.json[doc 1]: nested deeper than 128 levels (the limit)"), std::string::npos)
        << verb << ": " << r.err;
  }
}

// Defect 2: a ~500-byte alias bomb in an unrelated ConfigMap exhausted memory.
TEST(CliReliability, Defect2BillionLaughsIsAnErrorNamingFileDocumentAndLimit) {
  ScratchDir dir("laughs");
  dir.write("40-laughs.yaml", billion_laughs_configmap());
  ASSERT_LT(fs::file_size(dir.path / "40-laughs.yaml"), 1000u);
  auto r = run({kWva, "validate", "--local", dir.path.string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("40-laughs.yaml[doc 1]: expands to more than 1000000 nodes (the limit"), std::string::npos)
      << r.err;
}

// Defect 7: a scalar or list pipelines.yaml gave an error without a path; a name with control characters
// was printed raw, one error over several lines.
TEST(CliReliability, Defect7RootErrorsHaveAPathAndControlCharactersAreEscaped) {
  ScratchDir dir("paths");
  const std::string file = (dir.path / "pipelines.yaml").string();
  for (const char* text : {"- a\n- b\n", "just text\n"}) {
    dir.write("pipelines.yaml", text);
    auto r = run({kWva, "validate", "--offline", "--config", file});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(file + ": the configuration must be a mapping"), std::string::npos) << r.err;
  }
  dir.write("pipelines.yaml", "\"evil\\nname\\e[2J\": {}\n");
  auto r = run({kWva, "validate", "--offline", "--config", file});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("unknown key \"evil\\nname\\x1b[2J\""), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "raw escape sequence printed";
  // Manifests: a VariantAutoscaling name with a newline stays on its error's line.
  ScratchDir local("names");
  local.write("40-va.yaml",
              "apiVersion: llmd.ai/v1alpha9\nkind: VariantAutoscaling\nmetadata: {name: \"two\\nlines\", namespace: "
              "llm}\n");
  r = run({kWva, "validate", "--local", local.path.string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("VariantAutoscaling two\\nlines must have apiVersion"), std::string::npos) << r.err;
}

// `--config FILE` over the file size limit (16 MiB) is refused by its size, before it is read whole.
TEST(CliReliability, Defect2ConfigFileOverTheSizeLimitIsRefusedBeforeItIsRead) {
  ScratchDir dir("big-config");
  const fs::path file = dir.path / "pipelines.yaml";
  {
    std::ofstream out(file, std::ios::binary);
    const std::string line = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 17 * 1024; ++i) out << line;  // 17 MiB of comments: valid YAML, only too big
  }
  auto r = run({kWva, "validate", "--offline", "--config", file.string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("more than the limit of 16777216 bytes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
}

// A loopback port nothing listens on right now.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// The quickstart's pipelines with a metrics sink on a fixed port; `extra_sinks` adds instances.
std::string fixed_port_config(int port, const std::string& metrics_path, const std::string& extra_sinks = "") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wva-pipelines\n"
         "  namespace: workload-variant-autoscaler-system\ndata:\n  pipelines.yaml: |\n"
         "    sources:\n"
         "      emulator:\n"
         "        fixedMetrics:\n"
         "          llama-8b-h100: [{kvCacheUsage: 0.78, waiting: 2, running: 24}]\n"
         "          llama-8b-a100: [{kvCacheUsage: 0.85, waiting: 0, running: 30}]\n"
         "    analyzers:\n"
         "      saturation: {}\n"
         "    sinks:\n"
         "      status: {}\n"
         "      metrics: {listen: \"127.0.0.1:" +
         std::to_string(port) + "\", path: " + metrics_path + "}\n" + extra_sinks +
         "    pipelines:\n"
         "      default:\n"
         "        selector: {}\n"
         "        interval: 1h\n"  // no cycle reloads by itself: only SIGHUP does within the test
         "        source: emulator\n"
         "        analyzers: [saturation]\n"
         "        sinks: [status, metrics]\n";
}

// Pumps the process until its stderr holds `text` past `from` (bounded).
bool wait_for_stderr(Process& p, const std::string& text, std::size_t from = 0,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (p.err.find(text, from) == std::string::npos && std::chrono::steady_clock::now() < end)
    p.pump(std::chrono::milliseconds(50));
  return p.err.find(text, from) != std::string::npos;
}

int http_status(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  auto response = client.Get(path);
  return response ? response->status : -1;
}

// Defect 3: with the metrics sink on a fixed port every valid reload was rejected ("Address already in
// use"): the new plugin set started before the old one stopped. Now unchanged instances keep running
// (their listener too) and a changed one starts after its predecessor stopped. SIGHUP drives the reloads.
TEST(CliReliability, Defect3ReloadWithAFixedMetricsPortKeepsWhatIsUnchanged) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  ScratchDir dir("fixed-port");
  dir.write("30-config.yaml", fixed_port_config(port, "/metrics"));
  Process p({kWva, "run", "--local", dir.path.string(), "--output", "json", "--health-probe-bind-address", "0"});
  ASSERT_TRUE(p.wait_for_stdout("\"decisions\"", std::chrono::seconds(20))) << p.err;
  ASSERT_EQ(http_status(port, "/metrics"), 200) << p.err;

  // 1. A new sink instance beside the others: the five unchanged ones (the combiner included) keep running.
  dir.write("30-config.yaml", fixed_port_config(port, "/metrics", "      extra: {plugin: log, output: stderr}\n"));
  std::size_t mark = p.err.size();
  p.signal(SIGHUP);
  ASSERT_TRUE(wait_for_stderr(p, "config: reloaded", mark)) << p.err;
  EXPECT_NE(p.err.find("5 plugin instances kept running, 1 (re)started", mark), std::string::npos) << p.err;
  EXPECT_EQ(p.err.find("rejected", mark), std::string::npos) << p.err;
  EXPECT_EQ(http_status(port, "/metrics"), 200) << p.err;

  // 2. The metrics sink itself changes (same port, new path): it restarts on the port it held before.
  dir.write("30-config.yaml", fixed_port_config(port, "/wva-metrics", "      extra: {plugin: log, output: stderr}\n"));
  mark = p.err.size();
  p.signal(SIGHUP);
  ASSERT_TRUE(wait_for_stderr(p, "config: reloaded", mark)) << p.err;
  EXPECT_NE(p.err.find("5 plugin instances kept running, 1 (re)started", mark), std::string::npos) << p.err;
  EXPECT_EQ(p.err.find("Address already in use", mark), std::string::npos) << p.err;
  EXPECT_EQ(http_status(port, "/wva-metrics"), 200) << p.err;
  EXPECT_EQ(http_status(port, "/metrics"), 404) << p.err;

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0) << p.err;
}

// Defect 9 (signals): SIGHUP and SIGQUIT killed the process. SIGHUP re-reads the configuration at once
// (the interval is an hour, so nothing else would), SIGUSR1/SIGUSR2 are ignored, SIGQUIT stops gracefully.
TEST(CliReliability, Defect9SignalsAreHandledDeliberately) {
  ScratchDir dir("signals");
  dir.write("30-config.yaml", fixed_port_config(free_port(), "/metrics"));
  Process p({kWva, "run", "--local", dir.path.string(), "--output", "json", "--health-probe-bind-address", "0"});
  ASSERT_TRUE(p.wait_for_stdout("\"decisions\"", std::chrono::seconds(20))) << p.err;

  std::size_t mark = p.err.size();
  p.signal(SIGHUP);
  ASSERT_TRUE(wait_for_stderr(p, "reload requested (SIGHUP)", mark)) << p.err;
  EXPECT_TRUE(wait_for_stderr(p, "unchanged; nothing to reload", mark)) << p.err;

  p.signal(SIGUSR1);
  p.signal(SIGUSR2);
  p.signal(SIGPIPE);
  mark = p.err.size();
  p.signal(SIGHUP);  // still alive and still handling signals after the ignored ones
  ASSERT_TRUE(wait_for_stderr(p, "reload requested (SIGHUP)", mark)) << p.err;

  p.signal(SIGQUIT);
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0) << p.err;
  EXPECT_NE(p.err.find("stopping"), std::string::npos) << p.err;
}

// Defect 9, the rest: a second model whose pipeline's source (test-hang-source) hangs in its 2nd collect()
// until a file appears. Its collect is abandoned at its deadline (1 s + 1 s of grace), the other pipeline
// (the emulator, the same interval) keeps cycling meanwhile, and after the back-off a fresh instance of
// the hung source, with the same settings, serves that pipeline's next cycle.
std::string two_pipelines_config(const std::string& release_file) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wva-pipelines\n"
         "  namespace: workload-variant-autoscaler-system\ndata:\n  pipelines.yaml: |\n"
         "    plugins: {paths: [\"" WVA_TEST_PLUGIN_DIR
         "\"], restartBackoff: {initial: 300ms, max: 2s}}\n"
         "    sources:\n"
         "      emulator:\n"
         "        fixedMetrics:\n"
         "          llama-8b-h100: [{kvCacheUsage: 0.78, waiting: 2, running: 24}]\n"
         "          llama-8b-a100: [{kvCacheUsage: 0.85, waiting: 0, running: 30}]\n"
         "      hang: {plugin: test-hang-source, hangOnCall: 2, releaseFile: \"" +
         release_file +
         "\"}\n"
         "    analyzers:\n"
         "      saturation: {}\n"
         "      plus-one: {plugin: test-good-analyzer, add: 1}\n"
         "    sinks:\n"
         "      status: {}\n"
         "    pipelines:\n"
         "      hung:\n"
         "        selector: {modelIds: [\"qwen/*\"]}\n"
         "        interval: 200ms\n"
         "        idleCheckInterval: 0\n"
         "        deadlines: {collect: 1s}\n"
         "        source: hang\n"
         "        analyzers: [plus-one]\n"
         "        sinks: [status]\n"
         "      default:\n"
         "        selector: {}\n"
         "        interval: 200ms\n"
         "        idleCheckInterval: 0\n"
         "        source: emulator\n"
         "        analyzers: [saturation]\n"
         "        sinks: [status]\n";
}

const char* kQwen = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: qwen-7b-h100, namespace: llm, labels: {llmd.ai/model: qwen.qwen-7b}}
spec: {replicas: 2}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: qwen-7b, namespace: llm}
spec: {modelID: qwen/qwen-7b, minReplicas: 1, maxReplicas: 10}
)";

// The JSON cycle lines printed so far: {pipeline, held (any decision held)}.
std::vector<std::pair<std::string, bool>> cycle_lines(const std::string& out) {
  std::vector<std::pair<std::string, bool>> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    auto doc = nlohmann::json::parse(out.substr(start, end - start), nullptr, false);
    if (!doc.is_object() || !doc.contains("pipeline")) continue;
    bool held = false;
    for (const auto& d : doc.value("decisions", nlohmann::json::array())) held = held || d.value("held", false);
    lines.emplace_back(doc["pipeline"].get<std::string>(), held);
  }
  return lines;
}

TEST(CliReliability, Defect9AHungSourceIsRestartedAndOtherPipelinesRunOnTime) {
  ScratchDir dir("hung-source");
  // Outside the manifest folder, which the local backend reads.
  const fs::path release = fs::temp_directory_path() / ("wva-reliability-release-" + std::to_string(getpid()));
  fs::remove(release);
  dir.write("15-qwen.yaml", kQwen);
  dir.write("30-config.yaml", two_pipelines_config(release.string()));
  Process p({kWva, "run", "--local", dir.path.string(), "--output", "json", "--health-probe-bind-address", "0"});
  ASSERT_TRUE(wait_for_stderr(p, "sources/hang did not return within 2000 ms", 0, std::chrono::seconds(30))) << p.err;
  ASSERT_TRUE(wait_for_stderr(p, "sources/hang: restarted", 0, std::chrono::seconds(30))) << p.err;
  // The first cycle of `hung`, then its second (held: the abandoned collect), and between them the
  // other pipeline's cycles, on time.
  auto lines = cycle_lines(p.out);
  std::vector<std::size_t> hung_at;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].first == "hung") hung_at.push_back(i);
  ASSERT_GE(hung_at.size(), 2u) << p.out;
  EXPECT_FALSE(lines[hung_at[0]].second) << "the first collect returned";
  EXPECT_TRUE(lines[hung_at[1]].second) << "the abandoned collect holds the pipeline";
  std::size_t others = 0;
  for (std::size_t i = hung_at[0] + 1; i < hung_at[1]; ++i) others += lines[i].first == "default";
  EXPECT_GE(others, 3u) << "the default pipeline waited for the hung one:\n" << p.out;

  // The fresh instance serves: a cycle of `hung` decided again (not held) after the restart.
  const std::size_t mark = p.out.size();
  const auto served = [&] {
    const auto later = cycle_lines(p.out.substr(mark));
    return std::any_of(later.begin(), later.end(), [](const auto& l) { return l.first == "hung" && !l.second; });
  };
  for (int i = 0; i < 200 && !served(); ++i) p.pump(std::chrono::milliseconds(50));
  EXPECT_TRUE(served()) << p.out.substr(mark) << p.err;
  EXPECT_NE(p.err.find("a fresh instance replaces it in"), std::string::npos) << p.err;

  // The hung calls return once the file exists; the process then stops cleanly.
  std::ofstream(release).put('\n');
  EXPECT_TRUE(wait_for_stderr(p, "is stopped and released", 0, std::chrono::seconds(20))) << p.err;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(20)), 0) << p.err;
  fs::remove(release);
}

// `wva run --once` whose source hangs in its first collect(): the cycle returns at the deadline with the
// pipeline held, and the process leaves at once, saying which call is still hung, instead of returning
// from main (static destructors and unloaded libraries under the thread still inside the plugin).
TEST(CliReliability, AOnceRunWithAHungCallLeavesAndNamesIt) {
  ScratchDir dir("hung-once");
  const fs::path release = fs::temp_directory_path() / ("wva-reliability-release-once-" + std::to_string(getpid()));
  fs::remove(release);  // never created: the call stays hung until the process is gone
  std::string config = two_pipelines_config(release.string());
  const std::string first_call = "hangOnCall: 2";
  ASSERT_NE(config.find(first_call), std::string::npos);
  config.replace(config.find(first_call), first_call.size(), "hangOnCall: 1");
  dir.write("15-qwen.yaml", kQwen);
  dir.write("30-config.yaml", config);
  Process p({kWva, "run", "--local", dir.path.string(), "--once", "--output", "json"});
  EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.err;
  EXPECT_NE(p.err.find("sources/hang did not return within 2000 ms"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("exiting with 1 plugin call(s) still hung (sources/hang)"), std::string::npos) << p.err;
  EXPECT_NE(p.out.find("qwen/qwen-7b"), std::string::npos) << "the once-run printed its decisions first:\n" << p.out;
}

}  // namespace
