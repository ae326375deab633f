// The process's metrics registry (sdk::MetricsRegistry), rendered by the metrics sink on /metrics.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "wva/sdk/context.h"
#include "wva/sdk/util/prom_text.h"

namespace wva::framework {

// A label set as one string whose byte order is sdk::Labels' order (a std::map of strings compared pair by
// pair): each name and value is written with '\0' escaped as "\0\1" and ended by "\0\0". The encoding is
// prefix-free and keeps the order of every string, so series sorted by it render in the order a
// std::map<sdk::Labels, double> has, and one string per label set replaces a map node per label.
std::string encode_labels(const sdk::Labels& labels);
void encode_labels(const sdk::Labels& labels, std::string& out);  // into `out`, replacing what it held
// The exposition text of an encoded label set: `name="escaped value",...` in the encoded order.
void append_label_text(std::string_view encoded, std::string& out);

// Series are stored compactly: a label set is kept once however many families use it (the three
// recommendation gauges of a variant share one) and a family maps label sets to values. The exposition
// output is the same as a map of families of std::map<sdk::Labels, double> would render (tested against
// that implementation, kept as a reference in tests/host/reference_metrics_registry.*).
class MetricsRegistryImpl final : public sdk::MetricsRegistry {
 public:
  void set_gauge(std::string_view name, std::string_view help, const sdk::Labels& labels, double value) override;
  void add_counter(std::string_view name, std::string_view help, const sdk::Labels& labels, double delta) override;
  void remove(std::string_view name, const sdk::Labels& labels) override;
  std::string render() const override;
  // For tests and the CLI; nullopt when the series does not exist.
  std::optional<double> value(std::string_view name, const sdk::Labels& labels) const;
  // How many distinct label sets the series of every family use (each stored once).
  std::size_t label_sets() const;

 private:
  // The interned label sets, each with the number of series that use it. Keys never move (node-based), so
  // a family refers to a label set by a view of its key.
  using LabelSets = std::unordered_map<std::string, std::size_t>;
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string_view, double> series;  // views of LabelSets keys, in the labels' order
  };
  void upsert(std::string_view name, std::string_view help, const char* type, const sdk::Labels& labels, double value,
              bool add);
  void release(std::string_view encoded);  // one series less uses this label set

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
  LabelSets label_sets_;
  mutable std::string scratch_;  // the encoded labels of the call in progress (under mutex_)
};

// Escapes a label value for the text exposition format.
using sdk::escape_label_value;

}  // namespace wva::framework
