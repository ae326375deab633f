// The recording rules of the chart's PrometheusRule (templates/prometheusrule.yaml), read from the
// template itself: record -> expr (each expr is one single-quoted line), and as a Prometheus rule file.
#pragma once

#include <map>
#include <sstream>
#include <string>

#include "test_support.h"

namespace wva::prometheus::testing {

inline std::map<std::string, std::string> chart_rules(const std::string& chart_dir) {
  const std::string text = read_file(chart_dir + "/templates/prometheusrule.yaml");
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, record;
  while (std::getline(in, line)) {
    const auto r = line.find("- record: ");
    if (r != std::string::npos) {
      record = line.substr(r + 10);
      continue;
    }
    const auto e = line.find("expr: '");
    if (e != std::string::npos && !record.empty() && line.back() == '\'') {
      out[record] = line.substr(e + 7, line.size() - e - 8);
      record.clear();
    }
  }
  return out;
}

// The same rules as a rule file for `prometheus --config.file` (rule_files).
inline std::string chart_rule_file(const std::string& chart_dir) {
  std::string out = "groups:\n  - name: wva\n    interval: 1s\n    rules:\n";
  for (const auto& [record, expr] : chart_rules(chart_dir))
    out += "      - record: " + record + "\n        expr: '" + expr + "'\n";
  return out;
}

}  // namespace wva::prometheus::testing
