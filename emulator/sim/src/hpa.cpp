#include "hpa.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace wva::emulator {

namespace {

HpaRules parse_rules(const nlohmann::json& j, const HpaRules& base, const std::string& path, ConfigErrors& errors) {
  HpaRules r = base;
  if (!j.is_object()) {
    errors.add(path, "must be a map {stabilizationWindowSeconds, selectPolicy, policies}");
    return r;
  }
  check_keys(j, {"stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"}, path, errors);
  if (j.contains("stabilizationWindowSeconds")) {
    auto v = get_count(j["stabilizationWindowSeconds"], path + ".stabilizationWindowSeconds", errors);
    if (v && *v > 3600) errors.add(path + ".stabilizationWindowSeconds", "must be <= 3600");
    else if (v) r.stabilization_s = static_cast<double>(*v);
  }
  if (j.contains("selectPolicy")) {
    if (auto s = get_string(j["selectPolicy"], path + ".selectPolicy", errors)) {
      if (*s == "Max") r.select = HpaRules::Select::kMax;
      else if (*s == "Min") r.select = HpaRules::Select::kMin;
      else if (*s == "Disabled") r.select = HpaRules::Select::kDisabled;
      else errors.add(path + ".selectPolicy", "must be Max, Min or Disabled, got \"" + *s + "\"");
    }
  }
  if (j.contains("policies")) {
    const auto& ps = j["policies"];
    if (!ps.is_array()) {
      errors.add(path + ".policies", "must be a list of {type, value, periodSeconds}");
    } else {
      r.policies.clear();
      for (std::size_t i = 0; i < ps.size(); ++i) {
        const std::string pp = path + ".policies[" + std::to_string(i) + "]";
        if (!ps[i].is_object()) {
          errors.add(pp, "must be {type: Pods|Percent, value, periodSeconds}");
          continue;
        }
        check_keys(ps[i], {"type", "value", "periodSeconds"}, pp, errors);
        HpaPolicy pol;
        if (!ps[i].contains("type")) errors.add(pp + ".type", "missing");
        else if (auto t = get_string(ps[i]["type"], pp + ".type", errors)) {
          if (*t == "Pods") pol.type = HpaPolicy::Type::kPods;
          else if (*t == "Percent") pol.type = HpaPolicy::Type::kPercent;
          else errors.add(pp + ".type", "must be Pods or Percent, got \"" + *t + "\"");
        }
        if (!ps[i].contains("value")) errors.add(pp + ".value", "missing");
        else if (auto v = get_count(ps[i]["value"], pp + ".value", errors)) {
          if (*v < 1) errors.add(pp + ".value", "must be > 0");
          else pol.value = static_cast<int>(std::min<long long>(*v, INT_MAX));
        }
        if (!ps[i].contains("periodSeconds")) errors.add(pp + ".periodSeconds", "missing");
        else if (auto v = get_count(ps[i]["periodSeconds"], pp + ".periodSeconds", errors)) {
          if (*v < 1 || *v > 1800) errors.add(pp + ".periodSeconds", "must be in [1,1800]");
          else pol.period_s = static_cast<double>(*v);
        }
        r.policies.push_back(pol);
      }
    }
  }
  return r;
}

}  // namespace

HpaConfig parse_hpa(const nlohmann::json& j, const HpaConfig& base, const std::string& path, ConfigErrors& errors) {
  HpaConfig c = base;
  if (!j.is_object()) {
    errors.add(path, "must be a map {syncPeriod, tolerance, minReplicas, maxReplicas, behavior}");
    return c;
  }
  check_keys(j, {"syncPeriod", "tolerance", "minReplicas", "maxReplicas", "behavior"}, path, errors);
  if (j.contains("syncPeriod")) {
    auto v = get_seconds(j["syncPeriod"], path + ".syncPeriod", errors);
    if (v && *v <= 0) errors.add(path + ".syncPeriod", "must be > 0");
    else if (v) c.sync_period_s = *v;
  }
  if (j.contains("tolerance")) {
    auto v = get_number(j["tolerance"], path + ".tolerance", errors);
    if (v && (*v < 0 || *v >= 1)) errors.add(path + ".tolerance", "must be in [0,1)");
    else if (v) c.tolerance = *v;
  }
  if (j.contains("minReplicas"))
    if (auto v = get_count(j["minReplicas"], path + ".minReplicas", errors)) c.min_replicas = static_cast<int>(*v);
  if (j.contains("maxReplicas")) {
    if (auto v = get_count(j["maxReplicas"], path + ".maxReplicas", errors)) {
      if (*v < 1) errors.add(path + ".maxReplicas", "must be >= 1");
      else c.max_replicas = static_cast<int>(std::min<long long>(*v, INT_MAX));
    }
  }
  if (c.max_replicas && c.min_replicas > *c.max_replicas)
    errors.add(path + ".minReplicas", "must be <= maxReplicas (" + std::to_string(*c.max_replicas) + ")");
  if (j.contains("behavior")) {
    const auto& b = j["behavior"];
    const std::string bp = path + ".behavior";
    if (!b.is_object()) {
      errors.add(bp, "must be a map {scaleUp, scaleDown}");
    } else {
      check_keys(b, {"scaleUp", "scaleDown"}, bp, errors);
      if (b.contains("scaleUp")) c.scale_up = parse_rules(b["scaleUp"], c.scale_up, bp + ".scaleUp", errors);
      if (b.contains("scaleDown")) c.scale_down = parse_rules(b["scaleDown"], c.scale_down, bp + ".scaleDown", errors);
    }
  }
  return c;
}

int Hpa::replicas_changed_in(const std::deque<Stamped>& events, double now, double period) const {
  int sum = 0;
  for (const auto& e : events)
    if (e.t > now - period) sum += e.value;
  return sum;
}

int Hpa::sync(double now, int current, double metric) {
  const int max_replicas = config_.max_replicas.value_or(INT_MAX);
  const int min_replicas = config_.min_replicas;
  // 1. External metric, AverageValue target 1: ratio = metric / (1 * current).
  int proposed = current;
  if (current == 0) {
    proposed = static_cast<int>(std::ceil(metric));
  } else {
    const double ratio = metric / static_cast<double>(current);
    if (std::abs(1.0 - ratio) > config_.tolerance) proposed = static_cast<int>(std::ceil(metric));
  }
  if (current == 0 && min_replicas > 0) return current;  // HPA is disabled for a target scaled to 0
  if (current > max_replicas) return max_replicas;
  if (current < min_replicas) return min_replicas;

  // A new HPA starts with the current replicas as its first recommendation (recordInitialRecommendation),
  // so it does not scale down before a full window has passed.
  if (!initialized_) {
    initialized_ = true;
    recommendations_.push_back({now, current});
  }
  // 2. Stabilization (recommendations are kept unclamped, as upstream does).
  const double up_cutoff = now - config_.scale_up.stabilization_s;
  const double down_cutoff = now - config_.scale_down.stabilization_s;
  int up_rec = proposed, down_rec = proposed;
  int old_index = -1;
  for (std::size_t i = 0; i < recommendations_.size(); ++i) {
    const auto& rec = recommendations_[i];
    if (rec.t > up_cutoff) up_rec = std::min(up_rec, rec.value);
    if (rec.t > down_cutoff) down_rec = std::max(down_rec, rec.value);
    if (rec.t < up_cutoff && rec.t < down_cutoff) old_index = static_cast<int>(i);
  }
  int stabilized = current;
  if (stabilized < up_rec) stabilized = up_rec;
  if (stabilized > down_rec) stabilized = down_rec;
  if (old_index >= 0) recommendations_[static_cast<std::size_t>(old_index)] = {now, proposed};
  else recommendations_.push_back({now, proposed});

  // 3. Rate policies and min/max.
  int desired = stabilized;
  if (desired > current) {
    int limit;
    if (config_.scale_up.select == HpaRules::Select::kDisabled) {
      limit = current;
    } else {
      const bool pick_max = config_.scale_up.select == HpaRules::Select::kMax;
      limit = pick_max ? INT_MIN : INT_MAX;
      for (const auto& p : config_.scale_up.policies) {
        const int start = current - replicas_changed_in(up_events_, now, p.period_s) +
                          replicas_changed_in(down_events_, now, p.period_s);
        const int prop = p.type == HpaPolicy::Type::kPods
                             ? start + p.value
                             : static_cast<int>(std::ceil(start * (1.0 + p.value / 100.0)));
        limit = pick_max ? std::max(limit, prop) : std::min(limit, prop);
      }
      if (config_.scale_up.policies.empty()) limit = INT_MAX;
    }
    if (limit < current) limit = current;
    desired = std::min({desired, limit, max_replicas});
  } else if (desired < current) {
    int limit;
    if (config_.scale_down.select == HpaRules::Select::kDisabled) {
      limit = current;
    } else {
      const bool pick_max = config_.scale_down.select == HpaRules::Select::kMax;  // max change = lowest count
      limit = pick_max ? INT_MAX : INT_MIN;
      for (const auto& p : config_.scale_down.policies) {
        const int start = current - replicas_changed_in(up_events_, now, p.period_s) +
                          replicas_changed_in(down_events_, now, p.period_s);
        const int prop = p.type == HpaPolicy::Type::kPods
                             ? start - p.value
                             : static_cast<int>(static_cast<double>(start) * (1.0 - p.value / 100.0));
        limit = pick_max ? std::min(limit, prop) : std::max(limit, prop);
      }
      if (config_.scale_down.policies.empty()) limit = INT_MIN;
    }
    if (limit > current) limit = current;
    desired = std::max({desired, limit, min_replicas});
  }
  desired = std::clamp(desired, std::min(min_replicas, max_replicas), max_replicas);

  // 4. Record the scale event for later rate limits; forget events older than any period.
  if (desired > current) up_events_.push_back({now, desired - current});
  if (desired < current) down_events_.push_back({now, current - desired});
  double longest = 0;
  for (const auto& p : config_.scale_up.policies) longest = std::max(longest, p.period_s);
  for (const auto& p : config_.scale_down.policies) longest = std::max(longest, p.period_s);
  while (!up_events_.empty() && up_events_.front().t <= now - longest) up_events_.pop_front();
  while (!down_events_.empty() && down_events_.front().t <= now - longest) down_events_.pop_front();
  return desired;
}

}  // namespace wva::emulator
