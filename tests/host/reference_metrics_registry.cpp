#include "reference_metrics_registry.h"

#include "wva/sdk/util/prom_writer.h"

namespace wva::framework::reference {

void MetricsRegistry::upsert(std::string_view name, std::string_view help, const char* type, const sdk::Labels& labels,
                             double value, bool add) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{std::string(help), type, {}}).first;
  double& slot = it->second.series[labels];
  slot = add ? slot + value : value;
}

void MetricsRegistry::set_gauge(std::string_view name, std::string_view help, const sdk::Labels& labels, double value) {
  upsert(name, help, "gauge", labels, value, false);
}

void MetricsRegistry::add_counter(std::string_view name, std::string_view help, const sdk::Labels& labels,
                                  double delta) {
  upsert(name, help, "counter", labels, delta, true);
}

void MetricsRegistry::remove(std::string_view name, const sdk::Labels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) return;
  it->second.series.erase(labels);
  if (it->second.series.empty()) families_.erase(it);
}

std::optional<double> MetricsRegistry::value(std::string_view name, const sdk::Labels& labels) const {
  auto it = families_.find(name);
  if (it == families_.end()) return std::nullopt;
  auto s = it->second.series.find(labels);
  if (s == it->second.series.end()) return std::nullopt;
  return s->second;
}

std::string MetricsRegistry::render() const {
  sdk::prom::Writer out;
  for (const auto& [name, family] : families_) {
    out.header(name, family.type, family.help);
    for (const auto& [labels, value] : family.series) {
      std::string text;
      for (const auto& [k, v] : labels) text += (text.empty() ? "" : ",") + sdk::prom::label(k, v);
      out.sample(name, text, value);
    }
  }
  return out.take();
}

}  // namespace wva::framework::reference
