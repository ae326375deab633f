#include "host/metrics_registry.h"

#include <cmath>
#include <sstream>

namespace wva::framework {

void MetricsRegistryImpl::upsert(std::string_view name, std::string_view help, const char* type,
                                 const sdk::Labels& labels, double value, bool add) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{std::string(help), type, {}}).first;
  double& slot = it->second.series[labels];
  slot = add ? slot + value : value;
}

void MetricsRegistryImpl::set_gauge(std::string_view name, std::string_view help, const sdk::Labels& labels,
                                    double value) {
  upsert(name, help, "gauge", labels, value, false);
}

void MetricsRegistryImpl::add_counter(std::string_view name, std::string_view help, const sdk::Labels& labels,
                                      double delta) {
  upsert(name, help, "counter", labels, delta, true);
}

void MetricsRegistryImpl::remove(std::string_view name, const sdk::Labels& labels) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  it->second.series.erase(labels);
  if (it->second.series.empty()) families_.erase(it);
}

std::optional<double> MetricsRegistryImpl::value(std::string_view name, const sdk::Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return std::nullopt;
  auto s = it->second.series.find(labels);
  if (s == it->second.series.end()) return std::nullopt;
  return s->second;
}

std::string MetricsRegistryImpl::render() const {
  std::ostringstream out;
  out.precision(17);
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    out << "# HELP " << name << ' ' << family.help << '\n' << "# TYPE " << name << ' ' << family.type << '\n';
    for (const auto& [labels, value] : family.series) {
      out << name;
      if (!labels.empty()) {
        out << '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
          out << (first ? "" : ",") << k << "=\"" << escape_label_value(v) << '"';
          first = false;
        }
        out << '}';
      }
      out << ' ';
      if (std::isnan(value)) out << "NaN";
      else if (std::isinf(value)) out << (value > 0 ? "+Inf" : "-Inf");
      else out << value;
      out << '\n';
    }
  }
  return out.str();
}

}  // namespace wva::framework
