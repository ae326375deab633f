#include "server.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>

#include "prom_text.h"
#include "wva/sdk/util/yaml.h"

namespace wva::emulator {

namespace {

// cpp-httplib's connection queue with workers started on demand, up to `max_threads`: each connection
// holds a worker for as long as it is open (0.11 times out each read, not the whole request), so a fixed
// pool of 64 was starved by 64 slow clients. Idle workers stay for the next connection; shutdown() joins
// every worker as httplib's ThreadPool does.
class OnDemandThreadPool : public httplib::TaskQueue {
 public:
  explicit OnDemandThreadPool(std::size_t max_threads) : max_threads_(std::max<std::size_t>(1, max_threads)) {}
  ~OnDemandThreadPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(fn));
    // Every waiting job needs a worker of its own: an idle one (woken below) or a new one.
    if (jobs_.size() > idle_ + starting_ && workers_.size() < max_threads_) {
      ++starting_;
      workers_.emplace_back([this] { work(); });
    }
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    ready_.notify_all();
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    --starting_;
    for (;;) {
      ++idle_;
      ready_.wait(lock, [&] { return shut_down_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // shut down with nothing left
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  std::size_t idle_ = 0;      // workers waiting for a job
  std::size_t starting_ = 0;  // workers created that have not waited yet
  bool shut_down_ = false;
};

std::string completion_id(std::uint64_t id) { return "cmpl-emu-" + std::to_string(id); }

std::int32_t count_prompt_tokens(const nlohmann::json& prompt) {
  if (prompt.is_string()) {
    // About 4 characters per token, as OpenAI's rule of thumb.
    const auto n = static_cast<std::int32_t>(std::lround(static_cast<double>(prompt.get<std::string>().size()) / 4.0));
    return std::max<std::int32_t>(1, n);
  }
  if (prompt.is_array()) {
    if (!prompt.empty() && prompt[0].is_number_integer()) return static_cast<std::int32_t>(prompt.size());
    if (!prompt.empty() && prompt[0].is_string()) return count_prompt_tokens(prompt[0]);
  }
  return 1;
}

}  // namespace

nlohmann::json default_server_config(const std::string& model, const std::string& profile, int replicas) {
  return {
      {"variants",
       {{"llama-3-1-8b-h100", {{"model", model}, {"profile", profile}, {"replicas", replicas}, {"startupDelay", 0}}}}},
      {"hpa", {{"enabled", false}}}};
}

sdk::Result<nlohmann::json> parse_yaml_or_json(const std::string& text) {
  auto parsed = sdk::yaml::load_json(text);
  if (!parsed.ok()) return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "not valid YAML: " + parsed.error().message);
  return std::move(parsed.value());
}

sdk::Result<nlohmann::json> config_from_manifests(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<nlohmann::json> objects;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(e.path());
  }
  if (ec) return sdk::make_error(sdk::ErrorCode::kNotFound, "cannot read folder " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string text;
    // One byte past the limit is enough for load_all to refuse the file by its size.
    text.resize(sdk::yaml::Limits{}.max_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return sdk::make_error(sdk::ErrorCode::kNotFound, f.string() + ": cannot read");
    auto stream = sdk::yaml::load_all(text);
    if (!stream.ok()) return sdk::make_error(sdk::ErrorCode::kInvalidConfig, stream.error->located(f.string()));
    for (const auto& doc : stream.documents) {
      auto j = sdk::yaml::to_json(doc);
      if (j.is_object()) objects.push_back(std::move(j));
    }
  }
  auto str = [](const nlohmann::json& j, std::initializer_list<const char*> path) -> std::string {
    const nlohmann::json* cur = &j;
    for (const char* k : path) {
      if (!cur->is_object() || !cur->contains(k)) return {};
      cur = &(*cur)[k];
    }
    return cur->is_string() ? cur->get<std::string>() : std::string();
  };
  std::map<std::string, std::string> dotted_to_model;
  for (const auto& o : objects)
    if (str(o, {"kind"}) == "VariantAutoscaling") {
      std::string id = str(o, {"spec", "modelID"});
      std::string dotted = id;
      std::replace(dotted.begin(), dotted.end(), '/', '.');
      if (!id.empty()) dotted_to_model[dotted] = id;
    }
  nlohmann::json variants = nlohmann::json::object();
  for (const auto& o : objects) {
    if (str(o, {"kind"}) != "Deployment") continue;
    const std::string name = str(o, {"metadata", "name"});
    std::string ns = str(o, {"metadata", "namespace"});
    if (name.empty()) continue;
    if (ns.empty()) ns = "default";
    std::string label = str(o, {"metadata", "labels", "llmd.ai/model"});
    if (label.empty()) label = str(o, {"spec", "template", "metadata", "labels", "llmd.ai/model"});
    std::string model = name;
    if (auto it = dotted_to_model.find(label); it != dotted_to_model.end()) model = it->second;
    else if (!label.empty())
      model = label.find('.') == std::string::npos ? label : label.replace(label.find('.'), 1, "/");
    std::string profile = str(o, {"metadata", "annotations", "wva.llmd.ai/emulator-profile"});
    if (profile.empty()) {
      std::string lower = model;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string family = lower.find("qwen") != std::string::npos || lower.find("32b") != std::string::npos
                                     ? "qwen2.5-32b"
                                     : "llama-3.1-8b";
      const std::string product = str(o, {"spec", "template", "spec", "nodeSelector", "nvidia.com/gpu.product"});
      profile = family + (product.find("H200") != std::string::npos ? "/H200" : "/H100");
    }
    int replicas = 1;
    if (o.contains("spec") && o["spec"].contains("replicas") && o["spec"]["replicas"].is_number_integer())
      replicas = o["spec"]["replicas"].get<int>();
    variants[name] = {
        {"namespace", ns}, {"model", model}, {"profile", profile}, {"replicas", replicas}, {"startupDelay", 0}};
  }
  if (variants.empty()) return sdk::make_error(sdk::ErrorCode::kNotFound, "no Deployment in " + dir);
  return nlohmann::json{{"variants", variants}, {"hpa", {{"enabled", false}}}};
}

EmulatorServer::EmulatorServer(ServerOptions options) : options_(std::move(options)) {}

EmulatorServer::~EmulatorServer() { stop(); }

double EmulatorServer::wall_now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

sdk::Result<int> EmulatorServer::bind() {
  auto dyn = parse_dynamic_settings(options_.config, "config");
  if (!dyn.ok()) {
    ConfigErrors errors;
    for (const auto& e : dyn.errors) errors.add(e.path, e.message);
    return errors.to_error();
  }
  auto world_config = build_world_config(*dyn);
  if (!world_config.ok()) return world_config.error();
  // No Kubernetes here: the HPA has no metric source, so replicas stay as configured.
  world_config->hpa_enabled = false;
  world_ = std::make_unique<World>(std::move(world_config.value()));
  start_ = std::chrono::steady_clock::now();

  http_ = std::make_unique<GuardedHttpServer>(options_.limits);
  const int threads = options_.threads;
  http_->new_task_queue = [threads] { return new OnDemandThreadPool(static_cast<std::size_t>(threads)); };
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  // An idle keep-alive connection holds a worker, and stop() waits for it: 2 s, not httplib's 5.
  http_->set_keep_alive_timeout(2);
  http_->set_keep_alive_max_count(100);
  http_->set_payload_max_length(1u << 20);  // a completion request is a few KiB

  http_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    http_->answering(req);
    res.set_content(metrics_text() + connection_metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
    http_->answering(req);
    res.set_content("ok", "text/plain");
  });
  http_->Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    http_->answering(req);
    nlohmann::json data = nlohmann::json::array();
    std::lock_guard lock(mutex_);
    for (const auto& [ns, model] : world_->models())
      data.push_back({{"id", model}, {"object", "model"}, {"owned_by", "wva-emulator"}});
    res.set_content(nlohmann::json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  });
  http_->Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    http_->answering(req);
    bool stream = false;
    nlohmann::json error;
    int status = 200;
    std::uint64_t id = 0;
    std::string model;
    handle_completion(req.body, stream, error, status, id, model);
    if (status != 200) {
      res.status = status;
      res.set_content(error.dump(), "application/json");
      return;
    }
    const auto created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (!stream) {
      // Wait (bounded) until the simulated request finishes.
      std::unique_lock lock(mutex_);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(30);
      world_changed_.wait_until(lock, give_up, [&] {
        auto st = world_->external_status(id);
        return stopping_ || !st || st->done;
      });
      auto st = world_->external_status(id);
      world_->forget_external(id);
      lock.unlock();
      if (!st || !st->done || st->failed) {
        res.status = 503;
        res.set_content(nlohmann::json{{"error",
                                        {{"message", "request failed: " + (st ? st->failure : std::string("stopped"))},
                                         {"type", "server_error"}}}}
                            .dump(),
                        "application/json");
        return;
      }
      std::string text;
      for (int i = 0; i < st->generated; ++i) text += " x";
      nlohmann::json body = {
          {"id", completion_id(id)},
          {"object", "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", {{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", "length"}}}},
          {"usage",
           {{"prompt_tokens", st->prompt},
            {"completion_tokens", st->generated},
            {"total_tokens", st->prompt + st->generated}}},
          {"emulator",
           {{"ttft_ms", (st->first_token - st->arrival) * 1000.0}, {"e2e_ms", (st->finished - st->arrival) * 1000.0}}}};
      res.set_content(body.dump(), "application/json");
      return;
    }
    // SSE: one event per generated token, then [DONE].
    auto sent = std::make_shared<std::int32_t>(0);
    res.set_chunked_content_provider(
        "text/event-stream", [this, id, model, created, sent](std::size_t, httplib::DataSink& sink) {
          std::unique_lock lock(mutex_);
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(30);
          world_changed_.wait_until(lock, give_up, [&] {
            auto st = world_->external_status(id);
            return stopping_ || !st || st->done || st->generated > *sent;
          });
          auto st = world_->external_status(id);
          if (!st || stopping_) {
            lock.unlock();
            sink.done();
            return true;
          }
          const std::int32_t now_generated = st->generated;
          const bool done = st->done;
          if (done) world_->forget_external(id);
          lock.unlock();
          for (; *sent < now_generated; ++*sent) {
            const bool last = done && *sent + 1 == now_generated && !st->failed;
            nlohmann::json chunk = {{"id", completion_id(id)},
                                    {"object", "text_completion"},
                                    {"created", created},
                                    {"model", model},
                                    {"choices",
                                     {{{"index", 0},
                                       {"text", " x"},
                                       {"logprobs", nullptr},
                                       {"finish_reason", last ? nlohmann::json("length") : nlohmann::json(nullptr)}}}}};
            const std::string event = "data: " + chunk.dump() + "\n\n";
            if (!sink.write(event.data(), event.size())) return false;
          }
          if (done) {
            const std::string fin = "data: [DONE]\n\n";
            sink.write(fin.data(), fin.size());
            sink.done();
          }
          return true;
        });
  });

  // cpp-httplib 0.11 listens with a backlog of 5: a burst of connections has its SYNs dropped and each
  // waits a second or more to retry. Keep the listening socket to widen the backlog after binding (Linux
  // applies a second listen() to a listening socket). SO_REUSEADDR only, never SO_REUSEPORT (which would
  // let a second process share the port).
  auto listen_fd = std::make_shared<int>(-1);  // the callback outlives this function inside httplib
  http_->set_socket_options([listen_fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *listen_fd = sock;
  });
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) return sdk::make_error(sdk::ErrorCode::kUnavailable, "cannot bind " + options_.host);
  } else if (!http_->bind_to_port(options_.host, port)) {
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           "cannot bind " + options_.host + ":" + std::to_string(port) + " (in use?)");
  }
  if (*listen_fd >= 0) ::listen(*listen_fd, SOMAXCONN);
  driver_ = std::thread([this] { drive(); });
  return port;
}

void EmulatorServer::drive() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    world_->advance_to(wall_now());
    world_changed_.notify_all();
    const double next = world_->next_event_time();
    // Sleep until the next simulated event (bounded, so the clock never drifts far), or a new request.
    const double wait_s = std::clamp(next - wall_now(), 0.0, 0.25);
    wake_driver_.wait_for(lock, std::chrono::duration<double>(wait_s));
  }
  world_changed_.notify_all();
}

std::optional<RequestError> validate_completion_request(const nlohmann::json& req) {
  auto invalid = [](std::string message, std::string param, std::string code) {
    return RequestError{std::move(message), std::move(param), std::move(code)};
  };
  if (req.is_discarded()) return invalid("the body is not valid JSON", "", "invalid_json");
  if (!req.is_object()) return invalid("the body must be a JSON object", "", "invalid_type");
  if (req.contains("model") && !req["model"].is_string())
    return invalid("model must be a string", "model", "invalid_type");
  if (!req.contains("prompt")) return invalid("prompt is required", "prompt", "missing_required_parameter");
  // OpenAI's forms: a string, a list of strings, a list of token ids, a list of lists of token ids.
  const nlohmann::json& prompt = req["prompt"];
  const auto token_list = [](const nlohmann::json& list) {
    return list.is_array() && !list.empty() &&
           std::all_of(list.begin(), list.end(), [](const nlohmann::json& t) { return t.is_number_unsigned(); });
  };
  const bool prompt_ok =
      prompt.is_string() || (prompt.is_array() && !prompt.empty() &&
                             (std::all_of(prompt.begin(), prompt.end(), [](const auto& p) { return p.is_string(); }) ||
                              token_list(prompt) || std::all_of(prompt.begin(), prompt.end(), token_list)));
  if (!prompt_ok)
    return invalid(
        "prompt must be a string, a non-empty list of strings, or a non-empty list of token ids (or of lists "
        "of token ids)",
        "prompt", "invalid_type");
  if (req.contains("max_tokens") && !req["max_tokens"].is_null() &&
      (!req["max_tokens"].is_number_integer() || req["max_tokens"].get<long long>() < 1))
    return invalid("max_tokens must be a positive integer", "max_tokens", "invalid_value");
  if (req.contains("stream") && !req["stream"].is_boolean() && !req["stream"].is_null())
    return invalid("stream must be a boolean", "stream", "invalid_type");
  return std::nullopt;
}

nlohmann::json request_error_body(const RequestError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", "invalid_request_error"},
            {"param", e.param.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param)},
            {"code", e.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code)}}}};
}

void EmulatorServer::handle_completion(const std::string& body, bool& stream, nlohmann::json& response, int& status,
                                       std::uint64_t& id, std::string& model_name) {
  auto bad = [&](int code, const RequestError& e) {
    status = code;
    response = request_error_body(e);
  };
  const nlohmann::json req = nlohmann::json::parse(body, nullptr, false);
  if (auto invalid = validate_completion_request(req)) return bad(400, *invalid);
  std::int32_t max_tokens = 16;
  if (req.contains("max_tokens") && !req["max_tokens"].is_null())
    max_tokens = static_cast<std::int32_t>(std::min<long long>(req["max_tokens"].get<long long>(), 1 << 20));
  stream = req.contains("stream") && req["stream"].is_boolean() && req["stream"].get<bool>();
  const std::int32_t prompt = count_prompt_tokens(req["prompt"]);
  std::unique_lock lock(mutex_);
  const auto models = world_->models();
  model_name = req.contains("model") ? req["model"].get<std::string>() : models[0].second;
  world_->advance_to(wall_now());
  auto submitted = world_->submit("", model_name, prompt, max_tokens);
  if (!submitted) {
    std::string names;
    for (const auto& [ns, m] : models) names += (names.empty() ? "" : ", ") + m;
    return bad(404, RequestError{"model \"" + model_name + "\" is not served here (served: " + names + ")", "model",
                                 "model_not_found"});
  }
  id = *submitted;
  lock.unlock();
  wake_driver_.notify_all();
}

std::string EmulatorServer::connection_metrics_text() const {
  const auto line = [](const char* reason, std::uint64_t n) {
    return std::string("wva_emulator_connections_closed_total{reason=\"") + reason + "\"} " + std::to_string(n) + "\n";
  };
  return "# HELP wva_emulator_connections_closed_total Connections the server closed to protect itself.\n"
         "# TYPE wva_emulator_connections_closed_total counter\n" +
         line("request_deadline", http_->closed_by_deadline()) +
         line("per_client_room", http_->clients().closed_for_room()) +
         line("per_client_refused", http_->clients().refused());
}

std::string EmulatorServer::metrics_text() {
  std::lock_guard lock(mutex_);
  world_->advance_to(wall_now());
  return render_vllm_metrics(*world_);
}

void EmulatorServer::serve() {
  if (http_) http_->listen_after_bind();
}

void EmulatorServer::stop() {
  // main() and its signal watcher may both call stop(): one at a time, or both would join the driver.
  std::lock_guard stopping(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !driver_.joinable()) return;
    stopping_ = true;
  }
  wake_driver_.notify_all();
  world_changed_.notify_all();
  if (http_) http_->stop();
  if (driver_.joinable()) driver_.join();
}

}  // namespace wva::emulator
