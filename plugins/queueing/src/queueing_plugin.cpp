#include "queueing_plugin.h"

#include <exception>

namespace wva::queueing {

namespace {

sdk::Error internal(const std::string& where, const std::exception& e) {
  return sdk::make_error(sdk::ErrorCode::kInternal, where + ": " + e.what());
}

// "NVIDIA-H100-80GB-HBM3" -> "H100" when a variant uses "H100": the longest known type it contains.
std::string node_type(const std::string& product, const std::vector<std::string>& known) {
  const std::string p = upper(product);
  std::string best;
  for (const auto& k : known)
    if (!k.empty() && p.find(k) != std::string::npos && k.size() > best.size()) best = k;
  return best.empty() ? p : best;
}

}  // namespace

sdk::Result<void> QueueingPlugin::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    settings_ = read_settings(config);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, e.what(), config_path);
  }
}

sdk::Result<void> QueueingPlugin::start(sdk::PluginContext& context) {
  context_ = &context;
  return sdk::ok();
}

void QueueingPlugin::stop() noexcept { context_ = nullptr; }

Snapshot QueueingPlugin::read_config_maps(std::span<const sdk::ModelView> models) {
  // Starts from the last snapshot: a ConfigMap that fails to parse keeps its last good value.
  Snapshot next;
  next.service_classes = snapshot_->service_classes;
  next.profiles = snapshot_->profiles;
  next.capacity = snapshot_->capacity;
  auto& cluster = context_->cluster();
  const std::string ns = cluster.system_namespace();
  auto warn = [&](const std::string& m) {
    next.warnings.push_back(m);
    context_->report({sdk::Severity::kWarning, {}, m});
  };
  auto read = [&](const std::string& name) -> std::optional<std::map<std::string, std::string>> {
    auto got = cluster.get("ConfigMap", ns, name);
    if (!got) {
      warn("ConfigMap " + ns + "/" + name + " unreadable (" + got.error().to_string() + "); last good value kept");
      return std::nullopt;
    }
    if (!*got) return std::map<std::string, std::string>{};
    return sdk::config_map_data(**got);
  };
  // One bad class, entry or profile is reported with its path and skipped; the rest applies.
  auto problem = [&](const sdk::Error& e) {
    next.warnings.push_back(e.to_string());
    context_->report({sdk::Severity::kWarning, e.path, e.message});
  };
  if (auto data = read(settings_.service_class_config_map)) {
    auto classes =
        sdk::util::parse_service_classes(*data, "ConfigMap " + ns + "/" + settings_.service_class_config_map);
    for (const auto& e : classes.problems) problem(e);
    next.service_classes = std::move(classes.classes);
  }
  if (auto data = read(settings_.profiles_config_map)) {
    auto profiles = parse_profiles(*data, "ConfigMap " + ns + "/" + settings_.profiles_config_map);
    for (const auto& e : profiles.problems) problem(e);
    next.profiles = std::move(profiles.entries);
  }
  if (settings_.limited) {
    if (settings_.capacity_source == CapacitySource::kConfigMap) {
      auto got = cluster.get("ConfigMap", ns, settings_.capacity_config_map);
      if (got && !*got) {
        warn("limited mode: ConfigMap " + ns + "/" + settings_.capacity_config_map +
             " not found; no accelerator type is limited");
        next.capacity.clear();
      } else if (got) {
        auto cap = parse_capacity(sdk::config_map_data(**got), "ConfigMap " + settings_.capacity_config_map);
        if (!cap) warn(cap.error().to_string() + "; last good capacity kept");
        else next.capacity = *cap;
      } else {
        warn("limited mode: capacity unreadable (" + got.error().to_string() + "); last good capacity kept");
      }
    } else {
      auto nodes = cluster.list("Node", "");
      if (!nodes) {
        warn("limited mode: cannot list Nodes (" + nodes.error().to_string() + "); last good capacity kept");
      } else {
        std::vector<std::string> known;
        for (const auto& m : models)
          for (const auto& v : m.variants)
            if (!v.accelerator.empty()) known.push_back(upper(v.accelerator));
        std::map<std::string, int> cap;
        for (const auto& node : *nodes) {
          const auto labels = node.value("/metadata/labels"_json_pointer, nlohmann::json::object());
          const auto alloc = node.value("/status/allocatable"_json_pointer, nlohmann::json::object());
          if (!labels.contains(settings_.gpu_product_label) || !alloc.contains(settings_.gpu_resource)) continue;
          const auto& count = alloc[settings_.gpu_resource];
          int n = 0;
          if (count.is_number_integer()) n = count.get<int>();
          else if (count.is_string()) n = std::atoi(count.get<std::string>().c_str());
          if (n > 0 && labels[settings_.gpu_product_label].is_string())
            cap[node_type(labels[settings_.gpu_product_label].get<std::string>(), known)] += n;
        }
        next.capacity = cap;
      }
    }
  }
  return next;
}

sdk::Result<void> QueueingPlugin::prepare_cycle(std::span<const sdk::ModelView> models) {
  try {
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "prepare_cycle() before start()");
    auto next = std::make_shared<Snapshot>(read_config_maps(models));
    if (settings_.limited) {
      next->plan = plan_limited(models, *next, settings_);
      next->limited_planned = true;
    }
    snapshot_ = std::move(next);
    return sdk::ok();
  } catch (const std::exception& e) {
    return internal("queueing prepare_cycle", e);
  }
}

sdk::Result<sdk::Recommendation> QueueingPlugin::analyze(const sdk::ModelView& model, const sdk::Recommendation*) {
  try {
    const std::string name = context_ ? context_->instance_name() : std::string("queueing");
    return analyze_model(model, *snapshot_, settings_, name.empty() ? std::string("queueing") : name);
  } catch (const std::exception& e) {
    return internal("queueing analyze " + model.key.to_string(), e);
  }
}

}  // namespace wva::queueing
