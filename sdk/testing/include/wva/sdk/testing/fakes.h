// Test doubles for plugin authors: a manual clock, a capturing logger, an in-memory metrics registry and
// a PluginContext that owns them together with an InMemoryCluster. Header-only, no globals; every fake
// is thread-safe, so plugins that call into the context from several threads can be tested with it.
//
//   wva::sdk::testing::FakeContext ctx("my-analyzer");
//   ctx.fake_cluster().put(nlohmann::json::parse(R"({"kind":"ConfigMap", ...})"));
//   ASSERT_TRUE(plugin.start(ctx).ok());
//   ctx.fake_clock().advance(std::chrono::seconds(30));
//   EXPECT_TRUE(ctx.fake_logger().contains("scaled"));
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wva/sdk/context.h"
#include "wva/sdk/plugin.h"
#include "wva/sdk/types.h"
#include "wva/sdk/util/memory_cluster.h"

namespace wva::sdk::testing {

// A virtual clock that moves only when the test says so. Starts at 2025-01-01T00:00:00Z.
class ManualClock : public Clock {
 public:
  static TimePoint default_start() { return TimePoint{} + std::chrono::seconds(1735689600); }

  explicit ManualClock(TimePoint start = default_start()) : now_(start) {}

  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  bool is_virtual() const override { return true; }

  void set(TimePoint t) {
    std::lock_guard lock(mutex_);
    now_ = t;
  }
  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    std::lock_guard lock(mutex_);
    now_ += std::chrono::duration_cast<TimePoint::duration>(d);
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

inline const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

// Keeps every line logged, with its level, in order.
class CapturingLogger : public Logger {
 public:
  struct Line {
    LogLevel level;
    std::string message;
  };

  void log(LogLevel level, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(Line{level, std::string(message)});
  }

  std::vector<Line> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  // Lines at `level` or above.
  std::vector<Line> lines_at_least(LogLevel level) const {
    std::lock_guard lock(mutex_);
    std::vector<Line> out;
    for (const auto& l : lines_)
      if (l.level >= level) out.push_back(l);
    return out;
  }
  // True when some line contains `text` (at `level` or above, when given).
  bool contains(std::string_view text, std::optional<LogLevel> level = std::nullopt) const {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(), [&](const Line& l) {
      return (!level || l.level >= *level) && l.message.find(text) != std::string::npos;
    });
  }
  std::size_t count(LogLevel level) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(lines_.begin(), lines_.end(), [&](const Line& l) { return l.level == level; }));
  }
  // All lines as "level: message\n", for failure messages.
  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out += std::string(to_string(l.level)) + ": " + l.message + "\n";
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Line> lines_;
};

// A MetricsRegistry that keeps series in memory and renders the Prometheus text format 0.0.4.
// Families render sorted by name, series sorted by labels (std::map order), so output is stable.
class InMemoryMetrics : public MetricsRegistry {
 public:
  void set_gauge(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    std::lock_guard lock(mutex_);
    auto& f = family(name, help, "gauge");
    f.series[labels] = value;
  }
  void add_counter(std::string_view name, std::string_view help, const Labels& labels, double delta) override {
    std::lock_guard lock(mutex_);
    auto& f = family(name, help, "counter");
    f.series[labels] += delta;
  }
  void remove(std::string_view name, const Labels& labels) override {
    std::lock_guard lock(mutex_);
    auto it = families_.find(std::string(name));
    if (it == families_.end()) return;
    it->second.series.erase(labels);
    if (it->second.series.empty()) families_.erase(it);
  }

  std::string render() const override {
    std::lock_guard lock(mutex_);
    // Plain appends only: GCC 12 at -O2/-O3 reports a false -Wrestrict on `"literal" + std::string&&`.
    std::string out;
    for (const auto& [name, f] : families_) {
      out.append("# HELP ").append(name).append(" ").append(escape(f.help, false)).append("\n");
      out.append("# TYPE ").append(name).append(" ").append(f.type).append("\n");
      for (const auto& [labels, value] : f.series) {
        out.append(name);
        if (!labels.empty()) {
          out.append("{");
          bool first = true;
          for (const auto& [k, v] : labels) {
            if (!first) out.append(",");
            first = false;
            out.append(k).append("=\"").append(escape(v, true)).append("\"");
          }
          out.append("}");
        }
        out.append(" ").append(format_value(value)).append("\n");
      }
    }
    return out;
  }

  // The value of one series; nullopt when it does not exist.
  std::optional<double> value(std::string_view name, const Labels& labels = {}) const {
    std::lock_guard lock(mutex_);
    auto it = families_.find(std::string(name));
    if (it == families_.end()) return std::nullopt;
    auto s = it->second.series.find(labels);
    if (s == it->second.series.end()) return std::nullopt;
    return s->second;
  }
  // "gauge" or "counter"; nullopt when the family does not exist.
  std::optional<std::string> type(std::string_view name) const {
    std::lock_guard lock(mutex_);
    auto it = families_.find(std::string(name));
    if (it == families_.end()) return std::nullopt;
    return it->second.type;
  }
  std::size_t series_count(std::string_view name) const {
    std::lock_guard lock(mutex_);
    auto it = families_.find(std::string(name));
    return it == families_.end() ? 0 : it->second.series.size();
  }

  // Prometheus number formatting: shortest round-trip form, NaN, +Inf, -Inf.
  static std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, res.ptr);
  }

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<Labels, double> series;
  };

  // The first registration fixes help and type, as a real registry would.
  Family& family(std::string_view name, std::string_view help, const char* type) {
    auto [it, inserted] = families_.try_emplace(std::string(name));
    if (inserted) {
      it->second.help = std::string(help);
      it->second.type = type;
    }
    return it->second;
  }

  // Label values escape backslash, double quote and newline; HELP text escapes backslash and newline.
  static std::string escape(const std::string& s, bool quote) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (quote && c == '"') out += "\\\"";
      else out += c;
    }
    return out;
  }

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Configures a plugin the way the host does: sdk::prepare_settings (the schema, then the plugin's
// cross-field rules: every error), then configure() with the validated settings. Empty = configured.
inline std::vector<Error> configure_as_host(Plugin& plugin, const nlohmann::json& settings, const std::string& path) {
  ValidatedSettings prepared = prepare_settings(plugin, settings, path);
  if (!prepared.ok()) return prepared.errors;
  auto configured = plugin.configure(prepared.values, path);
  if (!configured.ok()) return {configured.error()};
  return {};
}

// "path: message" lines, for assertion messages.
inline std::string errors_text(const std::vector<Error>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  return out;
}

// A PluginContext made of the fakes above and an InMemoryCluster. Each FakeContext is independent.
class FakeContext : public PluginContext {
 public:
  explicit FakeContext(std::string instance_name = "test",
                       std::string system_namespace = "workload-variant-autoscaler-system")
      : instance_name_(std::move(instance_name)), cluster_(std::move(system_namespace)) {}

  FakeContext(const FakeContext&) = delete;
  FakeContext& operator=(const FakeContext&) = delete;

  Logger& logger() override { return logger_; }
  const Clock& clock() override { return clock_; }
  ClusterView& cluster() override { return cluster_; }
  MetricsRegistry& metrics() override { return metrics_; }
  std::string instance_name() const override { return instance_name_; }
  // Logs as the default does and keeps every diagnostic for the test to read.
  void report(const Diagnostic& diagnostic) override {
    PluginContext::report(diagnostic);
    std::lock_guard lock(diagnostics_mutex_);
    diagnostics_.push_back(diagnostic);
  }
  std::vector<Diagnostic> diagnostics() const {
    std::lock_guard lock(diagnostics_mutex_);
    return diagnostics_;
  }

  CapturingLogger& fake_logger() { return logger_; }
  ManualClock& fake_clock() { return clock_; }
  InMemoryCluster& fake_cluster() { return cluster_; }
  InMemoryMetrics& fake_metrics() { return metrics_; }

 private:
  std::string instance_name_;
  CapturingLogger logger_;
  ManualClock clock_;
  InMemoryCluster cluster_;
  InMemoryMetrics metrics_;
  mutable std::mutex diagnostics_mutex_;
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace wva::sdk::testing
