// A model of the Kubernetes HorizontalPodAutoscaler (autoscaling/v2) for one Deployment, driven by WVA's
// per-variant desired replicas as an External metric with an AverageValue target of 1 (the upstream
// wiring: inferno_desired_replicas). Follows pkg/controller/podautoscaler/horizontal.go: tolerance,
// stabilization windows (max of recommendations for scale-down, min for scale-up), rate policies with
// selectPolicy Max/Min/Disabled, min/max replicas.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"

namespace wva::emulator {

struct HpaPolicy {
  enum class Type { kPods, kPercent };
  Type type = Type::kPods;
  int value = 0;
  double period_s = 15;
};

struct HpaRules {
  enum class Select { kMax, kMin, kDisabled };
  double stabilization_s = 0;
  Select select = Select::kMax;
  std::vector<HpaPolicy> policies;
};

struct HpaConfig {
  double sync_period_s = 15;
  double tolerance = 0.1;
  int min_replicas = 1;
  std::optional<int> max_replicas;  // nullopt: unbounded
  HpaRules scale_up{0, HpaRules::Select::kMax, {{HpaPolicy::Type::kPercent, 100, 15}, {HpaPolicy::Type::kPods, 4, 15}}};
  HpaRules scale_down{300, HpaRules::Select::kMax, {{HpaPolicy::Type::kPercent, 100, 15}}};
};

// Parses {syncPeriod, tolerance, minReplicas, maxReplicas, behavior: {scaleUp|scaleDown:
// {stabilizationWindowSeconds, selectPolicy, policies: [{type: Pods|Percent, value, periodSeconds}]}}}
// over `base` (missing keys keep base's values).
HpaConfig parse_hpa(const nlohmann::json& j, const HpaConfig& base, const std::string& path, ConfigErrors& errors);

class Hpa {
 public:
  explicit Hpa(HpaConfig config) : config_(std::move(config)) {}

  // One sync at time `now` (s): current = the Deployment's replicas, metric = WVA's desired replicas.
  // Returns the new replica count (== current when nothing changes).
  int sync(double now, int current, double metric);
  const HpaConfig& config() const { return config_; }

 private:
  struct Stamped {
    double t;
    int value;
  };
  int replicas_changed_in(const std::deque<Stamped>& events, double now, double period) const;

  HpaConfig config_;
  bool initialized_ = false;
  std::vector<Stamped> recommendations_;
  std::deque<Stamped> up_events_, down_events_;
};

}  // namespace wva::emulator
