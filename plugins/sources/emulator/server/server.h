// wva-emulator: a simulated vLLM fleet behind an HTTP server. /metrics serves vLLM-named metrics (labels
// model_name, namespace, pod); POST /v1/completions answers after the simulated latency (non-streaming,
// or SSE with one event per token). The world runs in real time: a driver thread advances it to the
// wall clock, waking at each simulated event.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "settings.h"
#include "world.h"

#include "guarded_http_server.h"

namespace wva::emulator {

// A bad /v1/completions body, answered 400 as OpenAI does:
// {"error": {"message", "type": "invalid_request_error", "param", "code"}}.
struct RequestError {
  std::string message;
  std::string param;  // the offending field; empty: the body as a whole (null in the answer)
  std::string code;   // e.g. "invalid_type", "missing_required_parameter"
};

// Checks a parsed completion request (a discarded parse is invalid JSON): model a string when given,
// prompt one of OpenAI's forms, max_tokens a positive integer, stream a boolean (null: the default).
std::optional<RequestError> validate_completion_request(const nlohmann::json& request);
nlohmann::json request_error_body(const RequestError& error);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;          // 0: any free port
  nlohmann::json config;    // the plugin's dynamic-mode config (variants, workloads, router, ...)
  int threads = 1024;       // most HTTP worker threads, started on demand (each open connection holds one)
  ConnectionLimits limits;  // whole-request read deadline, connections per client address
};

// The config used when none is given: one pod of llama-3.1-8b on H100 (measured profile), no background load.
nlohmann::json default_server_config(const std::string& model = "meta-llama/Llama-3.1-8B",
                                     const std::string& profile = "llama-3.1-8b/H100", int replicas = 1);

// A fleet from a folder of Kubernetes manifests (the files `wva run --local DIR` reads): one variant per
// Deployment with its namespace and spec.replicas; the model from a VariantAutoscaling's spec.modelID
// whose dotted form matches the Deployment's llmd.ai/model label (else that label with its first '.' as
// '/', else the Deployment's name); the profile from the annotation wva.llmd.ai/emulator-profile, or from
// the nodeSelector nvidia.com/gpu.product (H200 -> .../H200, anything else -> .../H100) with the model
// family (qwen/32b -> qwen2.5-32b, else llama-3.1-8b). Pods are ready at once.
sdk::Result<nlohmann::json> config_from_manifests(const std::string& dir);

// Parses YAML (or JSON) text into JSON (plain scalars become numbers/booleans/null where they look so).
sdk::Result<nlohmann::json> parse_yaml_or_json(const std::string& text);

class EmulatorServer {
 public:
  explicit EmulatorServer(ServerOptions options);
  ~EmulatorServer();

  // Validates the config, builds the world, binds the socket. Returns the bound port.
  sdk::Result<int> bind();
  // Serves until stop() (blocking).
  void serve();
  void stop();

  // Exposed for tests.
  std::string metrics_text();
  // wva_emulator_connections_closed_total{reason}: request_deadline, per_client_room, per_client_refused.
  std::string connection_metrics_text() const;

 private:
  double wall_now() const;
  void drive();
  void handle_completion(const std::string& body, bool& stream, nlohmann::json& response, int& status,
                         std::uint64_t& id, std::string& model_name);

  ServerOptions options_;
  std::unique_ptr<GuardedHttpServer> http_;
  std::unique_ptr<World> world_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::mutex stop_mutex_;                  // serializes stop()
  std::condition_variable world_changed_;  // after each advance
  std::condition_variable wake_driver_;
  bool stopping_ = false;
  std::thread driver_;
};

}  // namespace wva::emulator
