// The real `wva` binary against FakeApiServer (in this process, standing in for kube-apiserver) holding
// N VariantAutoscalings, each with 3 Deployments of 4 pods (with their ReplicaSets):
//   BM_SyncAndOneCycle : `run --once`: initial sync + one cycle (whose status PATCHes are all first writes);
//                        the controller's wall time, CPU time (user + system), peak RSS, and the sync time it
//                        logs ("caches synced in X ms").
//   BM_SteadyStateCycle: `run --interval 5s`: the CPU time of the second and third cycles (nothing changed
//                        since the first: no PATCH is sent), read from /proc between the cycles' output lines.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "fake_apiserver.h"
#include "kube_objects.h"

namespace {

using namespace wva::testing;
namespace fs = std::filesystem;

void seed(FakeApiServer& server, int models) {
  std::ostringstream fixed;
  fixed << "sources:\n  emulator:\n    fixedMetrics:\n";
  for (int m = 0; m < models; ++m) {
    const std::string model = "org/model-" + std::to_string(m);
    const std::string label = "org.model-" + std::to_string(m);
    server.create(variant_autoscaling("bench", "va-" + std::to_string(m), model));
    for (int v = 0; v < 3; ++v) {
      const std::string name = "model-" + std::to_string(m) + "-v" + std::to_string(v);
      server.create(deployment("bench", name, 4, label));
      server.create(replicaset("bench", name, "6b7c"));
      // Metrics for the first 100 models (their decisions change the status); the others have none
      // (MetricsAvailable=False, held), which keeps the emulator's config small at 10,000 models.
      if (m < 100) fixed << "      " << name << ":\n";
      for (int p = 0; p < 4; ++p) {
        server.create(pod("bench", name + "-6b7c", name, "p" + std::to_string(p)));
        if (m < 100) fixed << "        - {kvCacheUsage: 0.5, waiting: 1, running: 10}\n";
      }
    }
  }
  fixed << "analyzers:\n  saturation: {}\nsinks:\n  status: {}\npipelines:\n  default:\n    selector: {}\n"
           "    interval: 60s\n    source: emulator\n    analyzers: [saturation]\n    sinks: [status]\n";
  server.create(config_map("workload-variant-autoscaler-system", "wva-pipelines", {{"pipelines.yaml", fixed.str()}}));
  server.create(config_map("workload-variant-autoscaler-system", "accelerator-unitcost", {{"costs", "H100: 50.0\n"}}));
}

void BM_SyncAndOneCycle(benchmark::State& state) {
  const int models = static_cast<int>(state.range(0));
  FakeApiServer server;
  seed(server, models);
  server.compact();  // the seeding history is not needed (wva lists first) and would double the memory
  const fs::path dir = fs::temp_directory_path() / ("wva-kube-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cfg = write_kubeconfig((dir / "config").string(), server.url());
  const std::string wva = std::string(WVA_BUILD_DIR) + "/bin/wva";
  for (auto _ : state) {
    const std::string err_file = (dir / "stderr").string();
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      freopen("/dev/null", "w", stdout);
      freopen(err_file.c_str(), "w", stderr);
      execl(wva.c_str(), wva.c_str(), "run", "--kubeconfig", cfg.c_str(), "--once", "--output", "json",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(wall);
    std::ifstream in(err_file);
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string log = text.str();
    if (std::regex_search(log, m, std::regex("caches synced in ([0-9]+) ms")))
      state.counters["sync_s"] = std::stod(m[1]) / 1000.0;
    state.counters["wall_s"] = wall;
    state.counters["cpu_s"] =
        usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
    state.counters["status_patches"] = static_cast<double>(server.count("PATCH", "/status"));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError(("wva failed: " + log).c_str());
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_SyncAndOneCycle)->Arg(1000)->Arg(10000)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// utime + stime of a live process, in seconds (/proc/<pid>/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Reads one line from `fd` within `timeout`; false on timeout or end of stream.
bool read_line(int fd, std::string& buffer, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (buffer.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  buffer.erase(0, buffer.find('\n') + 1);
  return true;
}

void BM_SteadyStateCycle(benchmark::State& state) {
  const int models = static_cast<int>(state.range(0));
  FakeApiServer server;
  seed(server, models);
  server.compact();
  const fs::path dir = fs::temp_directory_path() / ("wva-kube-steady-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cfg = write_kubeconfig((dir / "config").string(), server.url());
  const std::string wva = std::string(WVA_BUILD_DIR) + "/bin/wva";
  for (auto _ : state) {
    int out[2];
    if (pipe(out) != 0) {
      state.SkipWithError("pipe failed");
      break;
    }
    const std::string err_file = (dir / "stderr").string();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      close(out[0]);
      freopen(err_file.c_str(), "w", stderr);
      execl(wva.c_str(), wva.c_str(), "run", "--kubeconfig", cfg.c_str(), "--interval", "5s", "--output", "json",
            "--health-probe-bind-address", "0", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string buffer;
    // One output line per cycle: the first (sync, first status writes), then two steady ones.
    const bool first = read_line(out[0], buffer, std::chrono::seconds(600));
    const double after_first = cpu_seconds(pid);
    const auto first_at = std::chrono::steady_clock::now();
    const bool second = first && read_line(out[0], buffer, std::chrono::seconds(120));
    const bool third = second && read_line(out[0], buffer, std::chrono::seconds(120));
    const double after_third = cpu_seconds(pid);
    const double between = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_at).count();
    const std::size_t patches = server.count("PATCH", "/status");
    kill(pid, SIGTERM);
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    close(out[0]);
    state.SetIterationTime(between);
    state.counters["first_cycle_cpu_s"] = after_first;
    state.counters["steady_cycle_cpu_s"] = (after_third - after_first) / 2;
    state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
    state.counters["status_patches"] = static_cast<double>(patches);
    if (!third) {
      std::ifstream in(err_file);
      std::stringstream text;
      text << in.rdbuf();
      state.SkipWithError(("wva gave fewer than three cycles: " + text.str().substr(0, 2000)).c_str());
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_SteadyStateCycle)->Arg(1000)->Arg(10000)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
