// wva-emulator: simulated vLLM pods behind an HTTP server (see emulator/README.md).
#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <boost/program_options.hpp>

#include "server.h"

namespace {

const char* kHelp = R"(wva-emulator: simulated vLLM replicas (continuous batching, chunked prefill, KV cache,
preemption; step times from measured H100/H200 profiles) behind an HTTP server.

Usage: wva-emulator [--listen HOST:PORT] [--config FILE | --local DIR] [--model NAME] [--profile ID] [--replicas N]

  --listen HOST:PORT  address to serve on (default 127.0.0.1:8000; port 0 picks a free port, printed
                      on stdout as "listening on HOST:PORT")
  --config FILE       YAML or JSON fleet description, the emulator plugin's dynamic-mode config:
                      variants (Deployments: model, profile, replicas, maxNumSeqs, maxNumBatchedTokens,
                      kvCacheTokens, ...), optional workloads (background load: traces or rate profiles),
                      router. Without it: one pod of llama-3.1-8b on H100.
  --local DIR         a fleet from a folder of Kubernetes manifests (as `wva run --local DIR` reads):
                      one variant per Deployment (namespace, spec.replicas), its model from the
                      VariantAutoscaling / llmd.ai/model label, its profile from the annotation
                      wva.llmd.ai/emulator-profile or the nodeSelector nvidia.com/gpu.product (H200, else H100)
  --model NAME        model name served when there is no --config (default meta-llama/Llama-3.1-8B)
  --profile ID        step-time profile when there is no --config (default llama-3.1-8b/H100; also
                      llama-3.1-8b/H200, qwen2.5-32b/H100, qwen2.5-32b/H200)
  --replicas N        pods when there is no --config (default 1)
  --threads N         most HTTP worker threads, started as connections need them (default 1024; each
                      open connection holds one, so slow clients cannot take them all)
  --request-deadline S  a request must arrive whole (line, headers, body) within S seconds of its
                      first byte, or its connection is closed (default 5)
  --max-connections-per-client N
                      open connections per client address (default 64); over it the oldest one not
                      being answered is closed to make room
  --help              this text

Endpoints:
  GET  /metrics         vLLM metrics, Prometheus text format (labels model_name, namespace, pod)
  POST /v1/completions  OpenAI-style: {"model", "prompt" (text, ~4 chars/token, or a list of token ids),
                        "max_tokens", "stream"}; answers after the simulated latency; stream=true sends
                        one SSE event per token, then "data: [DONE]"
  GET  /v1/models, GET /health
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "wva-emulator: %s (see --help)\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  wva::emulator::ServerOptions options;
  std::string listen, config_file, local_dir, model = "meta-llama/Llama-3.1-8B", profile = "llama-3.1-8b/H100";
  int replicas = 1, threads = static_cast<int>(options.threads), max_per_client = 0;
  double deadline_s = 0;
  po::options_description desc;
  desc.add_options()("listen", po::value(&listen))("config", po::value(&config_file))("local", po::value(&local_dir))(
      "model", po::value(&model))("profile", po::value(&profile))("replicas", po::value(&replicas))(
      "threads", po::value(&threads))("request-deadline", po::value(&deadline_s))(
      "max-connections-per-client", po::value(&max_per_client))("help,h", "");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    return usage_error("unknown argument \"" + e.get_option_name() + "\"");
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (vm.count("listen")) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) return usage_error("--listen wants HOST:PORT, got \"" + listen + "\"");
    options.host = listen.substr(0, colon);
    const std::string port = listen.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
    options.port = digits ? std::stoi(port) : -1;
    if (options.port < 0 || options.port > 65535) return usage_error("bad port in --listen \"" + listen + "\"");
  }
  if (replicas < 1 || replicas > 10000) return usage_error("--replicas wants a number of pods in [1, 10000]");
  if (threads < 1) return usage_error("--threads wants a positive number");
  options.threads = threads;
  if (vm.count("request-deadline")) {
    if (!(deadline_s > 0) || deadline_s > 3600) return usage_error("--request-deadline wants seconds in (0, 3600]");
    options.limits.request_deadline = std::chrono::milliseconds(static_cast<long long>(deadline_s * 1000));
  }
  if (vm.count("max-connections-per-client")) {
    if (max_per_client < 1) return usage_error("--max-connections-per-client wants a positive number");
    options.limits.max_per_client = static_cast<std::size_t>(max_per_client);
  }
  if (!config_file.empty() && !local_dir.empty()) {
    std::fprintf(stderr, "wva-emulator: --config and --local are exclusive\n");
    return 2;
  }
  if (!local_dir.empty()) {
    auto cfg = wva::emulator::config_from_manifests(local_dir);
    if (!cfg.ok()) {
      std::fprintf(stderr, "wva-emulator: --local: %s\n", cfg.error().to_string().c_str());
      return 2;
    }
    options.config = cfg.value();
  } else if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) {
      std::fprintf(stderr, "wva-emulator: cannot read %s\n", config_file.c_str());
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = wva::emulator::parse_yaml_or_json(text.str());
    if (!parsed.ok()) {
      std::fprintf(stderr, "wva-emulator: %s: %s\n", config_file.c_str(), parsed.error().to_string().c_str());
      return 2;
    }
    options.config = parsed.value();
    // Relative trace paths resolve against the config file's folder.
    if (options.config.is_object() && !options.config.contains("baseDir")) {
      const auto slash = config_file.rfind('/');
      options.config["baseDir"] = slash == std::string::npos ? "." : config_file.substr(0, slash);
    }
  } else {
    options.config = wva::emulator::default_server_config(model, profile, replicas);
  }
  // SIGINT/SIGTERM are taken by a watcher thread (sigwait), so no handler touches shared state.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  wva::emulator::EmulatorServer server(options);
  auto port = server.bind();
  if (!port.ok()) {
    std::fprintf(stderr, "wva-emulator: %s\n", port.error().to_string().c_str());
    return 1;
  }
  std::printf("listening on %s:%d\n", options.host.c_str(), port.value());
  std::fflush(stdout);
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
  });
  server.serve();
  server.stop();
  pthread_kill(watcher.native_handle(), SIGUSR1);  // wakes the watcher when the server stopped by itself
  watcher.join();
  return 0;
}
