// The metrics registry as it was before label sets were stored once, as strings: a map of families, each a
// std::map<sdk::Labels, double>. The reference the current one is compared with
// (MetricsRegistryEquivalence.*). Not used by the product.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "wva/sdk/context.h"

namespace wva::framework::reference {

class MetricsRegistry final : public sdk::MetricsRegistry {
 public:
  void set_gauge(std::string_view name, std::string_view help, const sdk::Labels& labels, double value) override;
  void add_counter(std::string_view name, std::string_view help, const sdk::Labels& labels, double delta) override;
  void remove(std::string_view name, const sdk::Labels& labels) override;
  std::string render() const override;
  std::optional<double> value(std::string_view name, const sdk::Labels& labels) const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<sdk::Labels, double> series;
  };
  void upsert(std::string_view name, std::string_view help, const char* type, const sdk::Labels& labels, double value,
              bool add);
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace wva::framework::reference
