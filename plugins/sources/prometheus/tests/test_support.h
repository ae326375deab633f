// Helpers shared by the prometheus source tests: a minimal plugin context, model views, file reading.
#pragma once

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "wva/sdk/context.h"
#include "wva/sdk/types.h"

namespace wva::prometheus::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class CapturingLogger : public sdk::Logger {
 public:
  void log(sdk::LogLevel level, std::string_view message) override {
    std::lock_guard lock(mu_);
    lines_.push_back({level, std::string(message)});
  }
  std::string all() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [l, m] : lines_) out += m + "\n";
    return out;
  }
  bool contains(std::string_view text, sdk::LogLevel level) const {
    std::lock_guard lock(mu_);
    for (const auto& [l, m] : lines_)
      if (l == level && m.find(text) != std::string::npos) return true;
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<sdk::LogLevel, std::string>> lines_;
};

class WallClock : public sdk::Clock {
 public:
  sdk::TimePoint now() const override { return sdk::Clock_t::now() + offset; }
  bool is_virtual() const override { return false; }
  sdk::Clock_t::duration offset{};  // tests move the source's time forward (e.g. past a refresh interval)
};

class NoCluster : public sdk::ClusterView {
 public:
  std::string system_namespace() const override { return "wva-system"; }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string&, const std::string&) override {
    return std::vector<sdk::ObjectSnapshot>{};
  }
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string&, const std::string&, const std::string&) override {
    return sdk::ObjectSnapshot{};
  }
  sdk::Result<void> patch_status(const std::string&, const std::string&, const std::string&,
                                 const nlohmann::json&) override {
    return sdk::ok();
  }
  sdk::Result<void> scale(const std::string&, const std::string&, int) override { return sdk::ok(); }
};

class CountingMetrics : public sdk::MetricsRegistry {
 public:
  void set_gauge(std::string_view, std::string_view, const sdk::Labels&, double) override {}
  void add_counter(std::string_view name, std::string_view, const sdk::Labels& labels, double delta) override {
    std::lock_guard lock(mu_);
    auto it = labels.find("outcome");
    counters_[std::string(name) + "/" + (it == labels.end() ? "" : it->second)] += delta;
  }
  void remove(std::string_view, const sdk::Labels&) override {}
  std::string render() const override { return {}; }
  double counter(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = counters_.find(key);
    return it == counters_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, double> counters_;
};

class TestContext : public sdk::PluginContext {
 public:
  sdk::Logger& logger() override { return logger_; }
  const sdk::Clock& clock() override { return clock_; }
  sdk::ClusterView& cluster() override { return cluster_; }
  sdk::MetricsRegistry& metrics() override { return metrics_; }
  std::string instance_name() const override { return "prometheus"; }

  CapturingLogger logger_;
  WallClock clock_;
  NoCluster cluster_;
  CountingMetrics metrics_;
};

// A model with variants named <prefix>-<accelerator> and the local-mode pod names d-0..d-<n-1>.
inline sdk::ModelView make_model(const std::string& ns, const std::string& model_id,
                                 const std::vector<std::pair<std::string, int>>& variants, bool fill_pods = true) {
  sdk::ModelView m;
  m.key = {ns, model_id};
  for (const auto& [name, replicas] : variants) {
    sdk::Variant v;
    v.name = name;
    v.current_replicas = replicas;
    v.ready_replicas = replicas;
    if (fill_pods)
      for (int i = 0; i < replicas; ++i) v.pods.push_back(name + "-" + std::to_string(i));
    m.variants.push_back(std::move(v));
  }
  return m;
}

}  // namespace wva::prometheus::testing
