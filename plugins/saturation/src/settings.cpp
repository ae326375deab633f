#include "settings.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "text.h"

namespace wva::saturation {

const char* to_string(Mode mode) { return mode == Mode::kImproved ? "improved" : "compatible"; }

Options Options::compatible() { return Options{}; }

Options Options::improved() {
  Options o;
  o.mode = Mode::kImproved;
  o.unblock_transitions = true;
  o.pending_as_capacity = true;
  o.proportional_steps = true;
  o.count_saturated = true;
  o.hysteresis = true;
  return o;
}

namespace {

struct Parser {
  const nlohmann::json& config;
  std::string base;
  std::vector<sdk::Error> errors;

  std::string path(const std::string& key) const { return base.empty() ? key : base + "." + key; }
  void fail(const std::string& key, std::string message) {
    errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, std::move(message), path(key)));
  }
  const nlohmann::json* find(const std::string& key) const {
    auto it = config.find(key);
    return it == config.end() || it->is_null() ? nullptr : &*it;
  }
  // YAML scalars may reach us as strings ("true", "0.5") depending on the host's conversion.
  void boolean(const std::string& key, bool& out) {
    const auto* v = find(key);
    if (!v) return;
    if (v->is_boolean()) {
      out = v->get<bool>();
    } else if (v->is_string() && (*v == "true" || *v == "false")) {
      out = *v == "true";
    } else {
      fail(key, "must be true or false (got " + v->dump() + ")");
    }
  }
  std::optional<double> number(const std::string& key) {
    const auto* v = find(key);
    if (!v) return std::nullopt;
    double d = 0;
    if (v->is_number()) {
      d = v->get<double>();
    } else if (v->is_string()) {
      try {
        std::size_t used = 0;
        const std::string s = v->get<std::string>();
        d = std::stod(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
      } catch (const std::exception&) {
        fail(key, "must be a number (got " + v->dump() + ")");
        return std::nullopt;
      }
    } else {
      fail(key, "must be a number (got " + v->dump() + ")");
      return std::nullopt;
    }
    if (!std::isfinite(d)) {
      fail(key, "must be a finite number");
      return std::nullopt;
    }
    return d;
  }
};

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys{"mode",
                                             "unblockTransitions",
                                             "pendingAsCapacity",
                                             "proportionalSteps",
                                             "maxScaleUpStep",
                                             "countSaturated",
                                             "hysteresis",
                                             "kvHysteresis",
                                             "queueHysteresis",
                                             "configMap",
                                             "namespaceConfigMaps"};
  return keys;
}

Options parse(const nlohmann::json& raw, const std::string& config_path, std::vector<sdk::Error>& errors) {
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& config = raw.is_null() ? empty : raw;
  Parser p{config, config_path, {}};
  Options o;
  if (!config.is_object()) {
    errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                     "must be a mapping (e.g. {mode: improved}), got " + config.dump(), config_path));
    return o;
  }
  for (auto it = config.begin(); it != config.end(); ++it)
    if (std::find(known_keys().begin(), known_keys().end(), it.key()) == known_keys().end())
      p.fail(it.key(), "unknown setting" + did_you_mean(it.key(), known_keys()) +
                           " (known: mode, unblockTransitions, pendingAsCapacity, proportionalSteps, "
                           "maxScaleUpStep, countSaturated, hysteresis, kvHysteresis, queueHysteresis, "
                           "configMap, namespaceConfigMaps)");
  if (const auto* m = p.find("mode")) {
    if (*m == "compatible") {
      o = Options::compatible();
    } else if (*m == "improved") {
      o = Options::improved();
    } else {
      const std::string got = m->is_string() ? m->get<std::string>() : m->dump();
      p.fail("mode", "must be \"compatible\" or \"improved\" (got \"" + got + "\")" +
                         did_you_mean(got, {"compatible", "improved"}));
    }
  }
  p.boolean("unblockTransitions", o.unblock_transitions);
  p.boolean("pendingAsCapacity", o.pending_as_capacity);
  p.boolean("proportionalSteps", o.proportional_steps);
  p.boolean("countSaturated", o.count_saturated);
  p.boolean("hysteresis", o.hysteresis);
  p.boolean("namespaceConfigMaps", o.namespace_config_maps);
  if (auto step = p.number("maxScaleUpStep")) {
    if (*step < 1 || std::floor(*step) != *step) p.fail("maxScaleUpStep", "must be an integer >= 1");
    else o.max_scale_up_step = static_cast<int>(std::min(*step, 1e6));
  }
  if (auto kv = p.number("kvHysteresis")) {
    if (*kv < 0 || *kv > 1) p.fail("kvHysteresis", "must be in [0,1]");
    else o.kv_hysteresis = *kv;
  }
  if (auto q = p.number("queueHysteresis")) {
    if (*q < 0) p.fail("queueHysteresis", "must be >= 0");
    else o.queue_hysteresis = *q;
  }
  if (const auto* cm = p.find("configMap")) {
    if (!cm->is_string() || cm->get<std::string>().empty()) p.fail("configMap", "must be a non-empty ConfigMap name");
    else o.config_map = cm->get<std::string>();
  }
  errors.insert(errors.end(), p.errors.begin(), p.errors.end());
  return o;
}

}  // namespace

std::vector<sdk::Error> option_errors(const nlohmann::json& config, const std::string& config_path) {
  std::vector<sdk::Error> errors;
  (void)parse(config, config_path, errors);
  return errors;
}

sdk::Result<Options> parse_options(const nlohmann::json& config, const std::string& config_path) {
  std::vector<sdk::Error> errors;
  Options o = parse(config, config_path, errors);
  if (errors.empty()) return o;
  sdk::Error first = errors.front();
  for (std::size_t i = 1; i < errors.size(); ++i) first.message += "; also " + errors[i].to_string();
  return first;
}

}  // namespace wva::saturation
