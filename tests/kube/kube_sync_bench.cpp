// The real `wva` binary against FakeApiServer (in this process, standing in for kube-apiserver) holding
// N VariantAutoscalings, each with 3 Deployments of 4 pods (with their ReplicaSets) and an HPA each:
//   BM_SyncAndOneCycle : `run --once`: initial sync + one cycle (whose status PATCHes are all first writes);
//                        the controller's wall time, CPU time (user + system), peak RSS, the sync time it
//                        logs ("caches synced in X ms"), and its RSS at each phase.
//   BM_SteadyStateCycle: `run --interval 5s`: the CPU time of two cycles once the first cycle's status
//                        writes are all done (nothing changed since but the models with metrics), read from
//                        /proc between the cycles' output lines.
// The controller's figures are its own; the fake API server's CPU time (this process) is reported apart as
// apiserver_cpu_s. `wva` is not forked from this process: a child's ru_maxrss counts the address space it
// was forked from (Linux keeps the high-water mark of the image replaced by exec), which here holds the
// fake's whole store. This program re-executes itself as a small launcher (`--launch`) that forks `wva`
// and reports its pid and its wait4 rusage on fd 3. The controller runs with LOG_LEVEL=debug, so each informer's list
// is a log line at which the RSS is sampled:
//   rss_connected_MB   after the first request (client, plugins loaded);
//   rss_listed_<kind>  after that informer's list was installed in the cache;
//   rss_synced_MB      after every informer listed (and cpu_synced_s, the CPU time until then);
//   rss_cycle_MB       after the first cycle's output;
//   peak_rss_MB        the process's high-water mark (VmHWM, or ru_maxrss at exit).
// WVA_BENCH_WRAPPER (e.g. "heaptrack -o /tmp/wva") runs `wva` under a profiler; the figures are then the
// profiler's process's.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include "fake_apiserver.h"
#include "kube_objects.h"

namespace {

using namespace wva::testing;
namespace fs = std::filesystem;

// The HPA of a variant as the chart renders it (templates/autoscaling.yaml), with a status.
nlohmann::json hpa_of(const std::string& deployment) {
  auto h = nlohmann::json::parse(R"({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "spec": {"minReplicas": 1, "maxReplicas": 10,
             "metrics": [{"type": "External", "external": {"metric": {"name": "inferno_desired_replicas"},
                          "target": {"type": "AverageValue", "averageValue": "1"}}}],
             "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0},
                          "scaleDown": {"stabilizationWindowSeconds": 300}}},
    "status": {"currentReplicas": 4, "desiredReplicas": 4}})");
  h["metadata"] = {{"name", deployment}, {"namespace", "bench"}};
  h["spec"]["scaleTargetRef"] = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", deployment}};
  h["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]["variant_name"] = deployment;
  return h;
}

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
      server.create(hpa_of(name));
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

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

// CPU time (user + system) this process used so far: the fake API server's, the bench's loop is negligible.
double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

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

// VmRSS and VmHWM of a live process in MB; negative when it cannot be read.
struct Memory {
  double rss_mb = -1, hwm_mb = -1;
};
Memory memory_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  Memory m;
  for (std::string line; std::getline(in, line);) {
    double* slot = line.starts_with("VmRSS:") ? &m.rss_mb : line.starts_with("VmHWM:") ? &m.hwm_mb : nullptr;
    if (slot) *slot = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return m;
}

struct Child {
  pid_t launcher = -1;
  pid_t pid = -1;  // wva's
  int out = -1, err = -1, report = -1;
};

// Starts `wva args...` through the launcher, with stdout and stderr on pipes and LOG_LEVEL=debug; reads
// wva's pid from the launcher's report.
Child spawn(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/proc/self/exe", "--launch"};
  if (const char* wrap = std::getenv("WVA_BENCH_WRAPPER"); wrap && *wrap) {
    std::istringstream words(wrap);
    for (std::string w; words >> w;) argv.push_back(w);
  }
  argv.push_back(std::string(WVA_BUILD_DIR) + "/bin/wva");
  argv.insert(argv.end(), args.begin(), args.end());
  int out[2], err[2], report[2];
  if (pipe(out) != 0 || pipe(err) != 0 || pipe(report) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    dup2(report[1], 3);
    for (int fd : {out[0], out[1], err[0], err[1], report[0], report[1]})
      if (fd > 3) close(fd);
    setenv("LOG_LEVEL", "debug", 1);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(report[1]);
  Child c{pid, -1, out[0], err[0], report[0]};
  char line[64] = {0};
  std::size_t got = 0;
  while (got < sizeof line - 1 && read(c.report, line + got, 1) == 1 && line[got] != '\n') ++got;
  c.pid = static_cast<pid_t>(std::strtol(line, nullptr, 10));
  if (c.pid <= 0) c.pid = -1;
  return c;
}

// wva's exit as the launcher reports it.
struct Exit {
  bool ok = false;  // exited with status 0
  double cpu_s = 0;
  double max_rss_mb = 0;
};

Exit reap(const Child& c) {
  std::string text;
  char chunk[256];
  for (ssize_t n; (n = read(c.report, chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<std::size_t>(n));
  int status = 0;
  waitpid(c.launcher, &status, 0);
  for (int fd : {c.out, c.err, c.report}) close(fd);
  Exit e;
  long long code = -1, max_rss_kb = 0;
  double user = 0, sys = 0;
  if (std::sscanf(text.c_str(), "%lld %lld %lf %lf", &code, &max_rss_kb, &user, &sys) == 4) {
    e.ok = code == 0;
    e.cpu_s = user + sys;
    e.max_rss_mb = static_cast<double>(max_rss_kb) / 1024.0;
  }
  return e;
}

// Reads the child's stdout and stderr line by line until `done` says so, both streams end, or `timeout`
// passes; false on timeout. on_out / on_err see each complete line.
bool follow(const Child& c, std::chrono::seconds timeout, const std::function<bool(const std::string&)>& on_out,
            const std::function<void(const std::string&)>& on_err) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::string bufs[2];
  bool open[2] = {true, true};
  const int fds[2] = {c.out, c.err};
  while (open[0] || open[1]) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p[2] = {{open[0] ? fds[0] : -1, POLLIN, 0}, {open[1] ? fds[1] : -1, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(left.count())) < 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[65536];
      const ssize_t n = read(fds[i], chunk, sizeof chunk);
      if (n <= 0) {
        open[i] = false;
        continue;
      }
      bufs[i].append(chunk, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = bufs[i].find('\n')) != std::string::npos;) {
        const std::string line = bufs[i].substr(0, nl);
        bufs[i].erase(0, nl + 1);
        if (i == 0) {
          if (!on_out(line)) return true;
        } else {
          on_err(line);
        }
      }
    }
  }
  return true;
}

// Samples the RSS at the log lines that end a phase of the start-up; keeps the log's first and last lines
// for an error message.
struct PhaseSampler {
  pid_t pid;
  benchmark::State& state;
  std::string head, tail;
  bool synced = false;

  void operator()(const std::string& line) {
    if (head.size() < 4000) head += line + "\n";
    tail = (tail.size() > 4000 ? tail.substr(tail.size() - 2000) : tail) + line + "\n";
    static const std::regex listed("listed ([a-z]+) ");
    static const std::regex synced_in("caches synced in ([0-9]+) ms");
    std::smatch m;
    if (line.find("connected to") != std::string::npos) {
      state.counters["rss_connected_MB"] = memory_of(pid).rss_mb;
    } else if (std::regex_search(line, m, listed)) {
      state.counters["rss_listed_" + m[1].str() + "_MB"] = memory_of(pid).rss_mb;
    } else if (std::regex_search(line, m, synced_in)) {
      synced = true;
      const Memory mem = memory_of(pid);
      state.counters["sync_s"] = std::stod(m[1]) / 1000.0;
      state.counters["rss_synced_MB"] = mem.rss_mb;
      state.counters["hwm_synced_MB"] = mem.hwm_mb;
      state.counters["cpu_synced_s"] = cpu_seconds(pid);
    }
  }
  std::string log() const { return head + "...\n" + tail; }
};

struct Fixture {
  FakeApiServer server;
  fs::path dir;
  std::string kubeconfig;
  explicit Fixture(int models, const char* name) {
    seed(server, models);
    server.compact();  // the seeding history is not needed (wva lists first) and would double the memory
    dir = fs::temp_directory_path() / (std::string(name) + "-" + std::to_string(getpid()));
    fs::create_directories(dir);
    kubeconfig = write_kubeconfig((dir / "config").string(), server.url());
  }
  ~Fixture() { fs::remove_all(dir); }
};

void BM_SyncAndOneCycle(benchmark::State& state) {
  Fixture fx(static_cast<int>(state.range(0)), "wva-kube-bench");
  for (auto _ : state) {
    const double server_cpu_before = own_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    const Child c = spawn({"run", "--kubeconfig", fx.kubeconfig, "--once", "--output", "json"});
    if (c.pid < 0) {
      state.SkipWithError("cannot start wva");
      break;
    }
    PhaseSampler phases{c.pid, state};
    const bool finished = follow(
        c, std::chrono::seconds(900),
        [&](const std::string&) {
          state.counters["rss_cycle_MB"] = memory_of(c.pid).rss_mb;
          return true;
        },
        std::ref(phases));
    if (!finished) kill(c.pid, SIGKILL);
    const Exit exit = reap(c);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(wall);
    state.counters["wall_s"] = wall;
    state.counters["cpu_s"] = exit.cpu_s;
    state.counters["peak_rss_MB"] = exit.max_rss_mb;
    state.counters["apiserver_cpu_s"] = own_cpu_seconds() - server_cpu_before;
    state.counters["status_patches"] = static_cast<double>(fx.server.count("PATCH", "/status"));
    state.counters["events_posted"] = static_cast<double>(fx.server.count("POST", "/events"));
    state.counters["events_patched"] = static_cast<double>(fx.server.count("PATCH", "/events/"));
    // Every VA gets Events on a first cycle (a recommendation, or MetricsAvailable=False): how many have.
    std::set<std::string> with_events;
    for (const auto& e : fx.server.list("Event")) with_events.insert(e["involvedObject"].value("name", ""));
    state.counters["vas_with_events"] = static_cast<double>(with_events.size());
    if (!finished || !exit.ok) state.SkipWithError(("wva failed: " + phases.log()).c_str());
  }
}
BENCHMARK(BM_SyncAndOneCycle)->Arg(1000)->Arg(10000)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

void BM_SteadyStateCycle(benchmark::State& state) {
  Fixture fx(static_cast<int>(state.range(0)), "wva-kube-steady");
  for (auto _ : state) {
    const Child c = spawn({"run", "--kubeconfig", fx.kubeconfig, "--interval", "5s", "--output", "json",
                           "--health-probe-bind-address", "0"});
    if (c.pid < 0) {
      state.SkipWithError("cannot start wva");
      break;
    }
    PhaseSampler phases{c.pid, state};
    // One output line per cycle. The first cycle's status writes (one PATCH per VA, and its Events) may
    // outlast the sink's call deadline and go on behind the next cycles: the steady cycles measured are
    // the two after the first cycle that ends with every VA written.
    const auto models = static_cast<std::size_t>(state.range(0));
    int cycles = 0, settled_at = 0;
    double after_first = 0, settled_cpu = 0, after_steady = 0;
    std::size_t patches_after_first = 0, patches_settled = 0;
    std::chrono::steady_clock::time_point settled_time, steady_time;
    follow(
        c, std::chrono::seconds(900),
        [&](const std::string&) {
          ++cycles;
          if (cycles == 1) {
            after_first = cpu_seconds(c.pid);
            patches_after_first = fx.server.count("PATCH", "/status");
            const Memory mem = memory_of(c.pid);
            state.counters["rss_cycle_MB"] = mem.rss_mb;
            state.counters["hwm_cycle_MB"] = mem.hwm_mb;
          }
          if (!settled_at) {
            if (fx.server.count("PATCH", "/status") >= models) {
              settled_at = cycles;
              settled_cpu = cpu_seconds(c.pid);
              settled_time = std::chrono::steady_clock::now();
              patches_settled = fx.server.count("PATCH", "/status");
            }
            return true;
          }
          if (cycles < settled_at + 2) return true;
          after_steady = cpu_seconds(c.pid);
          steady_time = std::chrono::steady_clock::now();
          return false;
        },
        std::ref(phases));
    const Memory mem = memory_of(c.pid);
    const std::size_t patches = fx.server.count("PATCH", "/status");
    kill(c.pid, SIGTERM);
    const Exit exit = reap(c);
    const bool measured = settled_at && cycles >= settled_at + 2;
    state.SetIterationTime(measured ? std::chrono::duration<double>(steady_time - settled_time).count() : 0.0);
    state.counters["first_cycle_cpu_s"] = after_first;
    state.counters["settled_after_cycles"] = settled_at;
    state.counters["steady_cycle_cpu_s"] = (after_steady - settled_cpu) / 2;
    state.counters["rss_steady_MB"] = mem.rss_mb;
    state.counters["peak_rss_MB"] = exit.max_rss_mb;
    state.counters["status_patches_first"] = static_cast<double>(patches_after_first);
    state.counters["status_patches_steady"] = static_cast<double>(patches - patches_settled);
    if (!measured) state.SkipWithError(("wva did not give two cycles after its writes: " + phases.log()).c_str());
  }
}
BENCHMARK(BM_SteadyStateCycle)->Arg(1000)->Arg(10000)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// The launcher: forks argv[0..], writes "<pid>\n" and then "<exit code> <ru_maxrss kB> <user s> <system s>\n"
// to fd 3.
int launch(char** argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    close(3);
    execvp(argv[0], argv);
    _exit(127);
  }
  if (pid < 0) return 1;
  dprintf(3, "%d\n", static_cast<int>(pid));
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {}
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  dprintf(3, "%d %ld %.6f %.6f\n", code, usage.ru_maxrss, seconds(usage.ru_utime), seconds(usage.ru_stime));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[1]) == "--launch") return launch(argv + 2);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
