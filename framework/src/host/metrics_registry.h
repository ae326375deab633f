// The process's metrics registry (sdk::MetricsRegistry), rendered by the metrics sink on /metrics.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "wva/sdk/context.h"
#include "wva/sdk/util/prom_text.h"

namespace wva::framework {

class MetricsRegistryImpl final : public sdk::MetricsRegistry {
 public:
  void set_gauge(std::string_view name, std::string_view help, const sdk::Labels& labels, double value) override;
  void add_counter(std::string_view name, std::string_view help, const sdk::Labels& labels, double delta) override;
  void remove(std::string_view name, const sdk::Labels& labels) override;
  std::string render() const override;
  // For tests and the CLI; nullopt when the series does not exist.
  std::optional<double> value(std::string_view name, const sdk::Labels& labels) const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<sdk::Labels, double> series;
  };
  void upsert(std::string_view name, std::string_view help, const char* type, const sdk::Labels& labels, double value,
              bool add);
  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// Escapes a label value for the text exposition format.
using sdk::escape_label_value;

}  // namespace wva::framework
