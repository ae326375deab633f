// A whole WVA cycle at fleet scale, everything a real cycle does, through the host's public path:
//   a folder of manifests (N models x 3 variants x 4 replicas, an HPA each) loaded by LocalCluster (`wva run --local`),
//   the chart's default pipeline (prometheus -> capacity, scale-to-zero, combine: last -> status, metrics)
//   loaded as plugins by framework::Host, the prometheus source querying a replay server on 127.0.0.1
//   that answers the source's actual queries with responses in the exact shape of a real Prometheus
//   (see tests/bench/README.md), model views rebuilt by the host when the cluster changes.
// Figures (process CPU time of this process: the host, its worker pool and the plugins; the replay
// server is a child process and not counted): start-up, steady cycle, the cycle after one pod change,
// PromQL queries per cycle (counted by the server), RSS: after the first cycle, and the peak of each phase
// (start-up with the first cycle; the steady cycles), not counting the bench's own extra steps.
//   build-release/bench/whole_cycle_bench --models 1000 [--cycles 10] [--hpas 0|1] [--dir /tmp/x]
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include "cluster/local_cluster.h"
#include "host/clock.h"
#include "host/host.h"
#include "model/model_builder.h"

namespace {

namespace fs = std::filesystem;
using namespace wva;

constexpr int kVariants = 3;
constexpr int kReplicas = 4;
const char* const kNames[kVariants] = {"h100", "a100", "l40s"};  // in Deployment names
const char* const kGpuProducts[kVariants] = {"NVIDIA-H100-80GB-HBM3", "A100-SXM4-80GB", "NVIDIA-L40S"};
const char* const kSystemNs = "workload-variant-autoscaler-system";

std::string ns_of(int m) { return "ns-" + std::to_string(m % 50); }
std::string model_of(int m) { return "org/model-" + std::to_string(m); }
std::string deployment_of(int m, int v) { return "model-" + std::to_string(m) + "-" + kNames[v]; }

// Prometheus writes sample values with strconv.FormatFloat(v, 'f', -1, 64): shortest, never an exponent.
std::string prom_number(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

// --- the fleet folder (what `wva run --local DIR` reads) ---
void write_fleet(const fs::path& dir, int models, int port, bool hpas) {
  fs::create_directories(dir);
  std::ofstream base(dir / "00-system.yaml");
  base << "apiVersion: v1\nkind: Namespace\nmetadata: {name: " << kSystemNs << "}\n---\n"
       << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: accelerator-unitcost, namespace: " << kSystemNs
       << "}\ndata:\n  costs: |\n    H100: 50.0\n    A100: 30.0\n    L40S: 15.0\n---\n"
       // The chart's default pipeline (charts/workload-variant-autoscaler, values.yaml `pipelines`).
       << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wva-pipelines, namespace: " << kSystemNs << "}\n"
       << "data:\n  pipelines.yaml: |\n"
       << "    sources:\n      prometheus: {url: \"http://127.0.0.1:" << port << "\", insecureSkipVerify: false}\n"
       << "    analyzers:\n      capacity: {}\n      scale-to-zero: {}\n"
       << "    sinks:\n      status: {}\n      metrics: {listen: \"127.0.0.1:0\"}\n"
       << "    pipelines:\n      default:\n        selector: {}\n        source: prometheus\n"
       << "        analyzers: [\"capacity\",\"scale-to-zero\"]\n        combine: last\n"
       << "        idleCheckInterval: \"2s\"\n        sinks: [\"status\",\"metrics\"]\n";
  for (int n = 0; n < 50 && n < models; ++n)
    base << "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " << ns_of(n) << "}\n";
  // One file per 100 models, as a fleet's manifests would come.
  for (int first = 0; first < models; first += 100) {
    std::ofstream out(dir / ("fleet-" + std::to_string(first / 100) + ".yaml"));
    for (int m = first; m < std::min(models, first + 100); ++m) {
      const std::string label = "org.model-" + std::to_string(m);
      for (int v = 0; v < kVariants; ++v) {
        const std::string d = deployment_of(m, v);
        out << "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " << d << "\n  namespace: " << ns_of(m)
            << "\n  labels: {llmd.ai/model: " << label << "}\nspec:\n  replicas: " << kReplicas
            << "\n  selector: {matchLabels: {app: " << d << "}}\n  template:\n    metadata: {labels: {app: " << d
            << ", llmd.ai/model: " << label
            << "}}\n    spec:\n      nodeSelector: {nvidia.com/gpu.product: " << kGpuProducts[v]
            << "}\n      containers:\n        - name: vllm\n          image: vllm/vllm-openai:v0.8.5\n"
            << "          resources: {limits: {nvidia.com/gpu: \"1\"}}\nstatus: {replicas: " << kReplicas
            << ", readyReplicas: " << kReplicas << "}\n";
        // Its HPA, as the chart renders one per variant (templates/autoscaling.yaml), with a status.
        if (hpas)
          out << "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: " << d
              << ", namespace: " << ns_of(m)
              << "}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: " << d
              << "}\n  minReplicas: 1\n  maxReplicas: 10\n  metrics:\n    - type: External\n      external:\n"
              << "        metric: {name: inferno_desired_replicas, selector: {matchLabels: {variant_name: " << d
              << "}}}\n        target: {type: AverageValue, averageValue: \"1\"}\n  behavior:\n"
              << "    scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Percent, value: 100, periodSeconds: "
                 "15}]}\n"
              << "    scaleDown: {stabilizationWindowSeconds: 300, policies: [{type: Percent, value: 100, "
                 "periodSeconds: "
                 "15}]}\n"
              << "status: {currentReplicas: " << kReplicas << ", desiredReplicas: " << kReplicas << "}\n";
      }
      out << "---\napiVersion: llmd.ai/v1alpha1\nkind: VariantAutoscaling\nmetadata: {name: model-" << m
          << ", namespace: " << ns_of(m) << "}\nspec: {modelID: " << model_of(m)
          << ", minReplicas: 1, maxReplicas: 10}\n";
    }
  }
}

// --- the replay server's responses: the shape of a real Prometheus answering the source's queries ---
struct Bodies {
  // The per-pod group: kvCacheUsage, waiting, running, kvCapacity; sampleTime returns only pods older than
  // staleAfter, and every pod here is fresh.
  std::string replicas;
  // The same without kvCapacity: the source keeps the pods' KV capacity and asks again only for new pods
  // and every 5 minutes.
  std::string replicas_cached;
  std::string load;   // the load group, summed per Deployment
  std::string probe;  // the recording-rules probe: no recorded series
};

Bodies make_bodies(int models, double now) {
  Bodies b;
  const std::string ts = prom_number(std::round(now * 1000) / 1000);
  const std::string head = R"({"status":"success","data":{"resultType":"vector","result":[)";
  const std::string tail = "]}}";
  std::string& r = b.replicas;
  r = head;
  bool first = true;
  auto sep = [&](std::string& s) {
    if (!first) s += ',';
    first = false;
  };
  int n = 0;
  for (const char* signal : {"kvCacheUsage", "waiting", "running"}) {
    for (int m = 0; m < models; ++m)
      for (int v = 0; v < kVariants; ++v)
        for (int p = 0; p < kReplicas; ++p) {
          ++n;
          const std::string sig = signal;
          const double value = sig == "kvCacheUsage" ? 0.3 + 0.05 * (n % 10)
                               : sig == "waiting"    ? double(n % 4)
                                                     : double(8 + n % 16);
          sep(r);
          r += R"({"metric":{"model_name":")" + model_of(m) + R"(","namespace":")" + ns_of(m) + R"(","pod":")" +
               deployment_of(m, v) + "-" + std::to_string(p) + R"(","wva_signal":")" + sig + R"("},"value":[)" + ts +
               ",\"" + prom_number(value) + "\"]}";
        }
  }
  b.replicas_cached = r + tail;
  for (int m = 0; m < models; ++m)
    for (int v = 0; v < kVariants; ++v)
      for (int p = 0; p < kReplicas; ++p) {
        sep(r);
        r += R"({"metric":{"block_size":"16","namespace":")" + ns_of(m) + R"(","num_gpu_blocks":"2048","pod":")" +
             deployment_of(m, v) + "-" + std::to_string(p) + R"(","wva_signal":"kvCapacity"},"value":[)" + ts +
             ",\"1\"]}";
      }
  r += tail;

  std::string& l = b.load;
  l = head;
  first = true;
  const std::vector<std::pair<const char*, double>> per_request = {{"completions", 1},
                                                                   {"queueGrowth", 0.01},
                                                                   {"promptTokensSum", 512},
                                                                   {"promptTokensCount", 1},
                                                                   {"generationTokensSum", 256},
                                                                   {"generationTokensCount", 1},
                                                                   {"ttftSum", 0.09},
                                                                   {"ttftCount", 1},
                                                                   {"itlSum", 0.02 * 255},
                                                                   {"itlCount", 255}};
  for (const auto& [signal, factor] : per_request)
    for (int m = 0; m < models; ++m)
      for (int v = 0; v < kVariants; ++v) {
        // Requests/s of the Deployment; rates come as full-precision doubles ("0.7016250483637381").
        const double rate = (2.0 + (m * 3 + v) % 7) * 1.0137911842361549;
        sep(l);
        l += R"({"metric":{"model_name":")" + model_of(m) + R"(","namespace":")" + ns_of(m) +
             R"(","wva_deployment":")" + deployment_of(m, v) + R"(","wva_signal":")" + signal + R"("},"value":[)" + ts +
             ",\"" + prom_number(rate * factor) + "\"]}";
      }
  l += tail;
  b.probe = head + tail;
  return b;
}

std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A minimal HTTP/1.1 server (keep-alive, Content-Length bodies, a thread per connection): Prometheus
// reads form bodies up to 10 MB, cpp-httplib's packaged build refuses those over 8 KB (the query of 100
// models with their model_name matcher is longer).
template <class Handler>
[[noreturn]] void serve_http(int listener, Handler handler) {
  while (true) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    std::thread([fd, &handler] {
      std::string buf;
      char chunk[65536];
      while (true) {
        std::size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
          const ssize_t n = ::read(fd, chunk, sizeof chunk);
          if (n <= 0) {
            ::close(fd);
            return;
          }
          buf.append(chunk, static_cast<std::size_t>(n));
        }
        const std::string head = buf.substr(0, end);
        std::size_t length = 0;
        std::string lower_head = head;
        for (auto& ch : lower_head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (auto at = lower_head.find("\r\ncontent-length:"); at != std::string::npos)
          length = std::stoul(head.substr(at + 17));
        while (buf.size() < end + 4 + length) {
          const ssize_t n = ::read(fd, chunk, sizeof chunk);
          if (n <= 0) {
            ::close(fd);
            return;
          }
          buf.append(chunk, static_cast<std::size_t>(n));
        }
        const std::string path =
            head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
        const auto [status, body] = handler(path, std::string_view(buf).substr(end + 4, length));
        const std::string reply =
            "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Bad Request") +
            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        std::string out = reply;
        out += body;
        for (std::size_t sent = 0; sent < out.size();) {
          const ssize_t n = ::write(fd, out.data() + sent, out.size() - sent);
          if (n <= 0) {
            ::close(fd);
            return;
          }
          sent += static_cast<std::size_t>(n);
        }
        buf.erase(0, end + 4 + length);
      }
    }).detach();
  }
}

// The child: writes the folder, serves the responses, counts queries. Reports its port on `ready`.
[[noreturn]] void serve(int models, bool hpas, const fs::path& dir, int ready) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 16) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    std::_Exit(1);
  const int port = ntohs(addr.sin_port);
  write_fleet(dir, models, port, hpas);
  const Bodies bodies =
      make_bodies(models, std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  const std::string sizes = std::to_string(bodies.replicas_cached.size()) + " " + std::to_string(bodies.load.size()) +
                            " " + std::to_string(bodies.replicas.size());
  std::atomic<std::size_t> queries{0};
  const std::string bad = R"({"status":"error","errorType":"bad_data","error":"unexpected query"})";
  if (::write(ready, &port, sizeof port) != sizeof port) std::_Exit(1);
  ::close(ready);
  serve_http(listener, [&](const std::string& path, std::string_view body) -> std::pair<int, const std::string&> {
    if (path == "/queries") {
      thread_local std::string count;
      count = std::to_string(queries.load());
      return {200, count};
    }
    if (path == "/sizes") return {200, sizes};
    ++queries;
    const std::string form = form_decode(body);
    if (const char* save = std::getenv("WVA_BENCH_SAVE_QUERIES")) {
      // The PromQL the source sent, for tests/bench/record_responses.sh (replayed against a real Prometheus).
      const bool capacity = form.find("cache_config_info") != std::string::npos;
      const std::string kind = form.rfind("query=count by (__name__)", 0) == 0      ? "probe"
                               : form.find("\"kvCacheUsage\"") == std::string::npos ? "load"
                               : capacity                                           ? "replicas"
                                                                                    : "replicas-cached";
      std::ofstream(fs::path(save) / (kind + ".promql")) << form.substr(6);
    }
    if (form.rfind("query=count by (__name__)", 0) == 0) return {200, bodies.probe};
    if (form.find("\"kvCacheUsage\"") != std::string::npos)
      return {200, form.find("cache_config_info") != std::string::npos ? bodies.replicas : bodies.replicas_cached};
    if (form.find("\"completions\"") != std::string::npos) return {200, bodies.load};
    return {400, bad};
  });
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
// The high-water mark of the resident set since the process started or since reset_peak_rss().
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}
// Restarts the high-water mark (Linux >= 4.0), so that each phase's peak is its own: the bench's own
// steps (the collect() and build_models() measured alone) hold a second copy of what the host holds.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}
double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// The series of a response as "label=value,..." lines, values left out, sorted.
std::vector<std::string> series_shape(const std::string& body) {
  auto json = nlohmann::ordered_json::parse(body);  // labels in the order they were written
  std::vector<std::string> out;
  for (const auto& s : json.at("data").at("result")) {
    std::string line;
    for (const auto& [k, v] : s.at("metric").items()) line += k + "=" + v.get<std::string>() + ",";
    out.push_back(line +
                  " value:" + (s.at("value").at(1).get<std::string>().find('e') == std::string::npos ? "f" : "e"));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The generated responses for 2 models against the ones a real Prometheus gave for the same fleet
// (tests/bench/data, recorded by tests/bench/record_responses.sh): the same series with the same labels in
// the same order, values written the same way.
int check_shape(const fs::path& recorded) {
  const Bodies generated = make_bodies(2, 1795808585.05);
  int bad = 0;
  for (const auto& [name, body] : {std::pair{"replicas", &generated.replicas}, std::pair{"load", &generated.load}}) {
    std::ifstream in(recorded / (std::string(name) + ".json"));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.empty()) {
      std::cerr << recorded / (std::string(name) + ".json") << ": missing\n";
      return 1;
    }
    const auto want = series_shape(text), got = series_shape(*body);
    if (want != got) {
      ++bad;
      std::cerr << name << ": the generated series differ from the recorded ones (" << got.size() << " vs "
                << want.size() << ")\n";
      for (std::size_t i = 0; i < std::min(want.size(), got.size()); ++i)
        if (want[i] != got[i]) {
          std::cerr << "  recorded:  " << want[i] << "\n  generated: " << got[i] << "\n";
          break;
        }
    } else {
      std::cout << name << ": " << got.size() << " series, the same labels and value format as recorded\n";
    }
  }
  return bad == 0 ? 0 : 1;
}

// Models whose metrics the source delivered (state ok), and the cycle's errors.
struct Health {
  std::size_t ok_models = 0;
  std::vector<std::string> errors;
};
Health health(const std::vector<framework::CycleOutcome>& outcomes) {
  Health h;
  for (const auto& o : outcomes) {
    for (const auto& m : *o.models) h.ok_models += m.metrics.state == sdk::MetricsState::kOk;
    h.errors.insert(h.errors.end(), o.errors.begin(), o.errors.end());
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  int models = 1000, cycles = 10;
  bool hpas = true;
  fs::path dir, shape;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--models") models = std::atoi(argv[i + 1]);
    else if (a == "--cycles") cycles = std::atoi(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
    else if (a == "--check-shape") shape = argv[i + 1];
    else if (a == "--hpas") hpas = std::atoi(argv[i + 1]) != 0;
    else {
      std::cerr << "usage: whole_cycle_bench [--models N] [--cycles K] [--hpas 0|1] [--dir DIR] [--check-shape "
                   "RECORDED_DIR]\n";
      return 2;
    }
  }
  if (models <= 0 || cycles <= 0) return 2;
  if (!shape.empty()) return check_shape(shape);
  const bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/wva-whole-cycle-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  // The replay server is forked first, while this process has one thread, and builds everything it
  // serves itself: neither its CPU time nor its memory are this process's.
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  const pid_t server = ::fork();
  if (server == 0) {
    ::close(fds[0]);
    serve(models, hpas, dir, fds[1]);
  }
  ::close(fds[1]);
  // The server goes with this process on every way out, an early error return included (it would keep
  // the caller's output pipe open).
  struct StopServer {
    pid_t pid;
    ~StopServer() {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } stop_server{server};
  int port = 0;
  if (::read(fds[0], &port, sizeof port) != sizeof port) return 1;
  ::close(fds[0]);
  httplib::Client probe("127.0.0.1", port);
  auto count_queries = [&] {
    auto r = probe.Get("/queries");
    return r ? std::stol(r->body) : -1L;
  };
  const auto sizes = probe.Get("/sizes");

  // WVA_BENCH_LOG=1 shows the host's log (stderr); the figures are taken without it.
  auto log = std::getenv("WVA_BENCH_LOG")
                 ? std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::stderr_sink_mt>())
                 : std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  if (std::getenv("WVA_BENCH_LOG")) log->set_level(spdlog::level::debug);
  const double cpu0 = cpu_seconds();
  auto cluster = std::make_shared<framework::LocalCluster>(dir, kSystemNs);
  if (auto r = cluster->load(); !r.ok()) {
    std::cerr << r.error().to_string() << "\n";
    return 1;
  }
  const double cpu_load = cpu_seconds() - cpu0;
  framework::HostOptions options;
  options.base_dir = dir;
  options.worker_threads = 2;
  framework::Host host(options, cluster, std::make_shared<framework::WallClock>(), log);
  if (auto errors = host.start(); !errors.empty()) {
    for (const auto& e : errors) std::cerr << e.to_string() << "\n";
    return 1;
  }
  const double cpu_started = cpu_seconds();
  // The first cycle builds the model views and probes for the recording rules.
  long q0 = count_queries();
  auto first = host.run_once();
  const double cpu_first = cpu_seconds() - cpu_started;
  const long first_queries = count_queries() - q0;
  std::size_t decisions = 0;
  for (const auto& o : first) decisions += o.decisions.size();
  const double rss_after_start = rss_mb();
  const double peak_start = peak_rss_mb();
  first.clear();
  const bool phase_peaks = reset_peak_rss();

  q0 = count_queries();
  const double c0 = cpu_seconds();
  std::vector<framework::CycleOutcome> last;
  for (int i = 0; i < cycles; ++i) {
    last.clear();  // as `wva run` does: an outcome lives until its on_cycle returns, not across the next cycle
    last = host.run_once();
  }
  const double cycle_cpu = (cpu_seconds() - c0) / cycles;
  const double queries_per_cycle = double(count_queries() - q0) / cycles;
  const double peak_steady = peak_rss_mb();
  const double rss_steady = rss_mb();
  // WVA_BENCH_STOP_AFTER_STEADY=1 ends the run here: a heap profiler's peak (heaptrack reports one for the
  // whole run) is then the steady cycles' and not the bench's own steps below.
  if (std::getenv("WVA_BENCH_STOP_AFTER_STEADY")) {
    std::printf("steady cycle                %.1f ms CPU (mean of %d); RSS %.0f MB after, %.0f MB peak\n",
                cycle_cpu * 1e3, cycles, rss_steady, peak_steady);
    return 0;
  }

  // The source's part alone: its collect() (queries, parse, grouping) on the host's own instance.
  double collect_cpu = 0;
  if (!last.empty() && host.pipelines().front().source.second) {
    sdk::Source* source = host.pipelines().front().source.second;
    const double t = cpu_seconds();
    for (int i = 0; i < cycles; ++i)
      (void)source->collect(*last.front().models, sdk::Deadline::in(std::chrono::seconds(30)));
    collect_cpu = (cpu_seconds() - t) / cycles;
  }

  // One pod changes: a Deployment scaled 4 -> 5 (LocalCluster adds its pod). The next cycle rebuilds the
  // model views; the change costs what that cycle costs beyond a steady one.
  double change_cpu = 0, build_cpu = 0;
  for (int i = 0; i < 3; ++i) {
    const int m = (i * 7919) % models;
    (void)cluster->scale(ns_of(m), deployment_of(m, 0), kReplicas + 1 + i % 2);
    const double t = cpu_seconds();
    (void)host.run_once();
    change_cpu += (cpu_seconds() - t) / 3;
  }
  {  // The model views alone, as the host builds them on a change.
    const double t = cpu_seconds();
    auto built = framework::build_models(*cluster);
    build_cpu = cpu_seconds() - t;
    if (!built.ok()) std::cerr << built.error().to_string() << "\n";
  }

  const Health h = health(last);
  for (const auto& e : h.errors) std::fprintf(stderr, "cycle error: %s\n", e.c_str());
  std::printf("models                      %d x %d variants x %d pods (%d pods)\n", models, kVariants, kReplicas,
              models * kVariants * kReplicas);
  // "<per-pod group> <load group> <per-pod group with KV capacity>"
  std::string size_text[3] = {"?", "?", "?"};
  if (sizes) {
    std::istringstream in(sizes->body);
    in >> size_text[0] >> size_text[1] >> size_text[2];
  }
  std::printf(
      "responses                   replicas %s bytes (%s with KV capacity: first cycle, new pods, every 5 "
      "minutes), load %s bytes\n",
      size_text[0].c_str(), size_text[2].c_str(), size_text[1].c_str());
  std::printf("load folder (LocalCluster)  %.0f ms CPU\n", cpu_load * 1e3);
  std::printf("host start                  %.0f ms CPU\n", (cpu_started - cpu0 - cpu_load) * 1e3);
  std::printf("first cycle                 %.0f ms CPU, %ld queries, %zu decisions\n", cpu_first * 1e3, first_queries,
              decisions);
  std::printf("steady cycle                %.1f ms CPU (mean of %d), %.1f queries, metrics ok for %zu models\n",
              cycle_cpu * 1e3, cycles, queries_per_cycle, h.ok_models);
  std::printf("  of which source collect   %.1f ms CPU (2 queries, parse, grouping)\n", collect_cpu * 1e3);
  std::printf("cycle after one pod change  %.1f ms CPU (+%.1f ms)\n", change_cpu * 1e3, (change_cpu - cycle_cpu) * 1e3);
  std::printf("build_models alone          %.1f ms CPU\n", build_cpu * 1e3);
  if (phase_peaks)
    std::printf(
        "RSS                         %.0f MB after the first cycle, %.0f MB peak through start-up and the first "
        "cycle; %.0f MB after the steady cycles, %.0f MB peak through them\n",
        rss_after_start, peak_start, rss_steady, peak_steady);
  else  // no per-phase high-water mark: the peak of the whole run, the bench's own steps included
    std::printf("RSS                         %.0f MB after the first cycle, %.0f MB peak (whole run)\n",
                rss_after_start, peak_rss_mb());
  host.shutdown();
  if (own_dir) fs::remove_all(dir);
  return h.errors.empty() && h.ok_models == static_cast<std::size_t>(models) ? 0 : 3;
}
