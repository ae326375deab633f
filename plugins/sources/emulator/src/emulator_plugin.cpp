#include "emulator_plugin.h"

#include <cmath>
#include <exception>
#include <fstream>

#include "report.h"
#include "wva/sdk/util/histogram.h"

namespace wva::emulator {

namespace {

sdk::Error internal(const std::string& where, const std::exception& e) {
  return sdk::make_error(sdk::ErrorCode::kInternal, "emulator " + where + ": " + e.what());
}

std::optional<double> json_number(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return std::nullopt;
    cur = &(*cur)[k];
  }
  if (!cur->is_number()) return std::nullopt;
  return cur->get<double>();
}

}  // namespace

EmulatorPlugin::EmulatorPlugin() = default;
EmulatorPlugin::~EmulatorPlugin() = default;

sdk::Result<void> EmulatorPlugin::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    // The host hands validated settings; validating them again changes nothing, and a direct call (a test,
    // a tool) gets the same checks.
    auto parsed = parse_settings(config, config_path);
    if (!parsed.ok()) {
      ConfigErrors errors;
      for (const auto& e : parsed.errors) errors.add(e.path, e.message);
      return errors.to_error();
    }
    fixed_ = std::move(parsed.value->fixed);
    fixed_mode_ = parsed.value->fixed_mode;
    dynamic_ = std::move(parsed.value->dynamic);
    path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return internal("configure", e);
  }
}

sdk::Result<void> EmulatorPlugin::start(sdk::PluginContext& context) {
  try {
    std::lock_guard lock(mutex_);
    context_ = &context;
    world_.reset();
    if (!dynamic_) return sdk::ok();
    auto world_config = build_world_config(*dynamic_);
    if (!world_config.ok()) {
      context_ = nullptr;
      return world_config.error();
    }
    // A Deployment that already exists gives the fleet's starting size (its pods start warm).
    for (auto& spec : world_config->variants) {
      auto dep = context.cluster().get_shared("Deployment", spec.ns, spec.name);
      if (dep.ok() && dep.value())
        if (auto replicas = json_number(**dep, {"spec", "replicas"}))
          spec.initial_replicas = static_cast<int>(std::lround(*replicas));
    }
    world_ = std::make_unique<World>(std::move(world_config.value()));
    epoch_ = context.clock().now();
    world_->on_hpa_scale = [this](std::size_t v, int replicas) {
      const auto& spec = world_->config().variants[v];
      auto r = context_->cluster().scale(spec.ns, spec.name, replicas);
      if (!r.ok())
        context_->logger().warn("emulator HPA: scaling " + spec.ns + "/" + spec.name + " to " +
                                std::to_string(replicas) + " failed: " + r.error().to_string());
      else
        context_->logger().info("emulator HPA: " + spec.ns + "/" + spec.name + " -> " + std::to_string(replicas) +
                                " replicas");
    };
    return sdk::ok();
  } catch (const std::exception& e) {
    return internal("start", e);
  }
}

void EmulatorPlugin::write_report() noexcept {
  try {
    if (!world_ || !dynamic_ || !dynamic_->report_file) return;
    std::ofstream out(*dynamic_->report_file);
    out << report_json(*world_).dump() << '\n';
    if (!out && context_) context_->logger().warn("emulator: cannot write " + *dynamic_->report_file);
  } catch (...) {}
}

void EmulatorPlugin::stop() noexcept {
  std::lock_guard lock(mutex_);
  write_report();
  context_ = nullptr;
}

double EmulatorPlugin::world_time(sdk::TimePoint t) const { return std::chrono::duration<double>(t - epoch_).count(); }

void EmulatorPlugin::sync_from_cluster() {
  // The Deployment is the truth for replicas (another actor may have scaled it) and carries the desired
  // replicas a (possibly separate) emulator sink published. Both apply from the world's current time.
  const auto& variants = world_->config().variants;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    auto dep = context_->cluster().get_shared("Deployment", variants[v].ns, variants[v].name);
    if (!dep.ok()) {
      context_->logger().warn("emulator: reading Deployment " + variants[v].ns + "/" + variants[v].name + ": " +
                              dep.error().to_string());
      continue;
    }
    if (!dep.value()) continue;
    const nlohmann::json& d = **dep;
    if (auto replicas = json_number(d, {"spec", "replicas"}))
      world_->set_replicas(v, static_cast<int>(std::lround(*replicas)));
    if (auto desired = json_number(d, {"status", kDesiredStatusField})) world_->set_hpa_metric(v, *desired);
  }
}

void EmulatorPlugin::patch_deployment_status() {
  const auto& variants = world_->config().variants;
  std::vector<int> pods(variants.size(), 0), ready(variants.size(), 0);
  for (const auto& p : world_->pods()) {
    if (p.state == PodState::kGone || p.state == PodState::kTerminating) continue;
    ++pods[p.variant];
    if (p.state == PodState::kReady) ++ready[p.variant];
  }
  for (std::size_t v = 0; v < variants.size(); ++v) {
    auto dep = context_->cluster().get_shared("Deployment", variants[v].ns, variants[v].name);
    if (!dep.ok() || !dep.value()) continue;
    nlohmann::json patch = {{"replicas", pods[v]},
                            {"readyReplicas", ready[v]},
                            {"availableReplicas", ready[v]},
                            {"updatedReplicas", pods[v]}};
    auto r = context_->cluster().patch_status("Deployment", variants[v].ns, variants[v].name, patch);
    if (!r.ok())
      context_->logger().warn("emulator: status of Deployment " + variants[v].name + ": " + r.error().to_string());
  }
}

void EmulatorPlugin::advance() {
  if (!world_ || !context_) return;
  sync_from_cluster();
  const double t = world_time(context_->clock().now());
  if (t > world_->now()) world_->advance_to(t);
  patch_deployment_status();
}

sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> EmulatorPlugin::collect(std::span<const sdk::ModelView> models,
                                                                                sdk::Deadline /*deadline*/) {
  try {
    std::lock_guard lock(mutex_);
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "emulator: collect() before start()");
    const sdk::TimePoint now = context_->clock().now();
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    if (!world_) {
      for (const auto& model : models) out[model.key] = fixed_metrics_for(fixed_, model, now);
      return out;
    }
    advance();
    for (const auto& model : models) {
      sdk::ModelMetrics m;
      m.collected_at = now;
      bool known = false;
      std::vector<sdk::util::HistogramBucket> model_prompt_buckets;  // the variants' summed
      for (const auto& variant : model.variants) {
        const auto v = world_->find_variant(model.key.ns, variant.name);
        if (!v) continue;
        known = true;
        for (const auto& p : world_->pods()) {
          if (p.variant != *v || (p.state != PodState::kReady && p.state != PodState::kTerminating)) continue;
          sdk::ReplicaMetrics r;
          r.pod = p.name;
          r.variant = variant.name;
          r.kv_cache_usage = p.replica->kv_usage();
          r.waiting = p.replica->waiting();
          r.running = p.replica->running();
          r.kv_capacity_tokens = p.replica->kv_pool_tokens();
          r.sample_time = now;
          m.replicas.push_back(std::move(r));
        }
        const World::Load l = world_->variant_load(*v, dynamic_->load_window_s);
        sdk::Load load;
        load.arrival_rate = l.arrival_rate;
        load.avg_input_tokens = l.avg_input_tokens;
        load.avg_output_tokens = l.avg_output_tokens;
        load.ttft_ms = l.ttft_ms;
        load.itl_ms = l.itl_ms;
        load.prompt_tokens_rate = l.prompt_tokens_rate;
        load.generation_tokens_rate = l.generation_tokens_rate;
        if (!l.prompt_buckets.empty() && l.avg_input_tokens) {
          std::vector<sdk::util::HistogramBucket> buckets;
          buckets.reserve(l.prompt_buckets.size());
          for (const auto& [upper, count] : l.prompt_buckets) buckets.push_back({upper, count});
          load.prompt_tokens_cv = sdk::util::histogram_cv(buckets, *l.avg_input_tokens);
          sdk::util::add_buckets(model_prompt_buckets, buckets);
        }
        load.request_tpot_buckets.reserve(l.tpot_buckets.size());
        for (const auto& [upper, count] : l.tpot_buckets) load.request_tpot_buckets.push_back({upper, count});
        m.load_by_variant[variant.name] = load;
      }
      if (!known) {
        m.state = sdk::MetricsState::kNoData;
        m.message = "emulator: no simulated variant of " + model.key.to_string() + " (configured: ";
        std::string names;
        for (const auto& v : world_->config().variants) names += (names.empty() ? "" : ", ") + v.ns + "/" + v.name;
        m.message += names + ")";
      } else {
        m.state = sdk::MetricsState::kOk;
        m.load = combine_loads(m.load_by_variant);
        // The model's spread from its variants' buckets pooled (combine_loads can only bound it).
        if (!model_prompt_buckets.empty() && m.load.avg_input_tokens)
          m.load.prompt_tokens_cv = sdk::util::histogram_cv(model_prompt_buckets, *m.load.avg_input_tokens);
        if (m.replicas.empty() && !m.load.arrival_rate) {
          m.state = sdk::MetricsState::kNoData;
          m.message = "emulator: no ready pod of " + model.key.to_string();
        }
      }
      out[model.key] = std::move(m);
    }
    return out;
  } catch (const std::exception& e) {
    return internal("collect", e);
  }
}

sdk::Result<void> EmulatorPlugin::publish(const sdk::PublishBatch& batch) {
  try {
    std::lock_guard lock(mutex_);
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "emulator: publish() before start()");
    if (fixed_mode_) return sdk::ok();  // fixed mode: nothing to actuate
    std::optional<sdk::Error> first_error;
    for (const auto& d : batch.decisions) {
      if (world_)
        if (auto v = world_->find_variant(d.model.ns, d.variant)) world_->set_hpa_metric(*v, d.desired);
      auto r =
          context_->cluster().patch_status("Deployment", d.model.ns, d.variant, {{kDesiredStatusField, d.desired}});
      if (!r.ok() && r.error().code != sdk::ErrorCode::kNotFound && !first_error) first_error = r.error();
    }
    if (first_error) return *first_error;
    return sdk::ok();
  } catch (const std::exception& e) {
    return internal("publish", e);
  }
}

}  // namespace wva::emulator
