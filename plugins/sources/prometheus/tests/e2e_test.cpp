// End to end: wva-emulator serves vLLM metrics, a real Prometheus scrapes it, `wva run --local --once`
// with the prometheus source produces decisions; with Prometheus stopped the cycle reports the FAQ's
// error. Skipped while bin/wva or bin/wva-emulator is not built (they come from other work items), or
// when wva-emulator has no --listen option (the interface this test assumes).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "real_prometheus.h"

namespace {

namespace fs = std::filesystem;
using wva::prometheus::testing::RealPrometheus;

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  ::pclose(p);
  return out;
}

TEST(EndToEnd, WvaRunWithPrometheusSourceOverEmulator) {
  const std::string wva = WVA_BUILD_DIR "/bin/wva";
  const std::string emulator = WVA_BUILD_DIR "/bin/wva-emulator";
  if (!fs::exists(wva) || !fs::exists(emulator)) GTEST_SKIP() << "bin/wva or bin/wva-emulator is not built";
  auto prometheus = wva::prometheus::testing::find_in_path("prometheus");
  if (!prometheus) GTEST_SKIP() << "the prometheus binary is not installed";
  const std::string help = run_capture(emulator + " --help");
  if (help.find("--listen") == std::string::npos || help.find("--local") == std::string::npos)
    GTEST_SKIP() << "wva-emulator has no --listen/--local options; align this test with its CLI:\n" << help;

  char tmpl[] = "/tmp/wva-prom-e2e-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  for (const auto& e : fs::directory_iterator(WVA_SOURCE_DIR "/examples/quickstart"))
    if (e.path().filename() != "30-config.yaml") fs::copy(e.path(), dir / e.path().filename());
  const int emu_port = wva::prometheus::testing::free_port();
  const std::string emu_cmd = emulator + " --local " + dir.string() + " --listen 127.0.0.1:" +
                              std::to_string(emu_port) + " > " + (dir / "emulator.log").string() + " 2>&1 & echo $!";
  const std::string emu_pid = run_capture(emu_cmd);
  RealPrometheus prom(*prometheus, {"127.0.0.1:" + std::to_string(emu_port)});
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();
  {
    std::ofstream cfg(dir / "30-config.yaml");
    cfg << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wva-pipelines, namespace: "
           "workload-variant-autoscaler-system}\ndata:\n  pipelines.yaml: |\n"
           "    sources:\n      prometheus: {url: \""
        << prom.url()
        << "\", timeout: 2s, retries: 0}\n"
           "    analyzers: {saturation: {}}\n    sinks: {log: {format: text, output: stderr}}\n"
           "    pipelines:\n      default: {selector: {}, interval: 30s, source: prometheus, analyzers: [saturation], "
           "sinks: [log]}\n";
  }
  const std::string run = wva + " run --local " + dir.string() + " --plugin-path " WVA_PLUGIN_DIR " --once --output json";
  std::string out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    out = run_capture(run);
    if (out.find("MetricsFound") != std::string::npos || out.find("\"desired\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_NE(out.find("\"desired\""), std::string::npos) << out;
  prom.stop();
  const std::string down = run_capture(run);
  EXPECT_NE(down.find("Failed to get metrics from Prometheus"), std::string::npos) << down;
  if (!emu_pid.empty()) run_capture("kill " + std::to_string(std::stoi(emu_pid)));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
