// Tests of the SDK testing fakes.
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "wva/sdk/testing/fakes.h"

namespace {

using namespace wva::sdk;
using namespace wva::sdk::testing;
using std::chrono::seconds;

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock clock;
  EXPECT_TRUE(clock.is_virtual());
  const TimePoint t0 = clock.now();
  EXPECT_EQ(t0, ManualClock::default_start());
  EXPECT_EQ(clock.now(), t0);
  clock.advance(seconds(30));
  EXPECT_EQ(clock.now() - t0, seconds(30));
  clock.advance(std::chrono::milliseconds(500));
  EXPECT_EQ(clock.now() - t0, std::chrono::milliseconds(30500));
  clock.set(t0 + std::chrono::hours(1));
  EXPECT_EQ(clock.now() - t0, std::chrono::hours(1));
}

TEST(CapturingLogger, KeepsLinesWithLevelsInOrder) {
  CapturingLogger log;
  log.debug("d1");
  log.info("started x");
  log.warn("slow");
  log.error("boom");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].level, LogLevel::kDebug);
  EXPECT_EQ(lines[3].message, "boom");
  EXPECT_TRUE(log.contains("started"));
  EXPECT_FALSE(log.contains("started", LogLevel::kWarn));
  EXPECT_TRUE(log.contains("boom", LogLevel::kWarn));
  EXPECT_EQ(log.lines_at_least(LogLevel::kWarn).size(), 2u);
  EXPECT_EQ(log.count(LogLevel::kInfo), 1u);
  EXPECT_EQ(log.dump(), "debug: d1\ninfo: started x\nwarn: slow\nerror: boom\n");
  log.clear();
  EXPECT_TRUE(log.lines().empty());
}

TEST(CapturingLogger, IsThreadSafe) {
  CapturingLogger log;
  constexpr int kThreads = 4, kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&log] {
      for (int i = 0; i < kLines; ++i) log.info("line");
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(log.lines().size(), static_cast<std::size_t>(kThreads * kLines));
}

TEST(InMemoryMetrics, RendersPrometheusTextFormat) {
  InMemoryMetrics m;
  m.set_gauge("wva_desired_replicas", "Desired replicas.", {{"variant", "b"}, {"namespace", "ns"}}, 3);
  m.set_gauge("wva_desired_replicas", "ignored: first help wins", {{"variant", "a"}, {"namespace", "ns"}}, 2.5);
  m.add_counter("wva_cycles_total", "Cycles run.", {}, 1);
  m.add_counter("wva_cycles_total", "Cycles run.", {}, 2);
  EXPECT_EQ(m.render(),
            "# HELP wva_cycles_total Cycles run.\n"
            "# TYPE wva_cycles_total counter\n"
            "wva_cycles_total 3\n"
            "# HELP wva_desired_replicas Desired replicas.\n"
            "# TYPE wva_desired_replicas gauge\n"
            "wva_desired_replicas{namespace=\"ns\",variant=\"a\"} 2.5\n"
            "wva_desired_replicas{namespace=\"ns\",variant=\"b\"} 3\n");
  EXPECT_EQ(m.value("wva_cycles_total"), 3.0);
  EXPECT_EQ(m.type("wva_cycles_total"), "counter");
  EXPECT_EQ(m.series_count("wva_desired_replicas"), 2u);
  EXPECT_EQ(m.value("wva_desired_replicas", {{"variant", "zz"}}), std::nullopt);
}

TEST(InMemoryMetrics, GaugeOverwritesAndRemoveDropsSeriesThenFamily) {
  InMemoryMetrics m;
  m.set_gauge("g", "h", {{"k", "1"}}, 1);
  m.set_gauge("g", "h", {{"k", "1"}}, 7);
  m.set_gauge("g", "h", {{"k", "2"}}, 8);
  EXPECT_EQ(m.value("g", {{"k", "1"}}), 7.0);
  m.remove("g", {{"k", "1"}});
  EXPECT_EQ(m.value("g", {{"k", "1"}}), std::nullopt);
  EXPECT_EQ(m.series_count("g"), 1u);
  m.remove("g", {{"k", "2"}});
  EXPECT_EQ(m.render(), "");
  m.remove("absent", {});  // no effect, no crash
}

TEST(InMemoryMetrics, EscapesLabelValuesAndHelpAndFormatsSpecialValues) {
  InMemoryMetrics m;
  m.set_gauge("g", "line1\nback\\slash", {{"l", "a\"b\\c\nd"}}, std::numeric_limits<double>::infinity());
  m.set_gauge("n", "nan", {}, std::numeric_limits<double>::quiet_NaN());
  m.set_gauge("s", "small", {}, 1e-7);
  EXPECT_EQ(m.render(),
            "# HELP g line1\\nback\\\\slash\n"
            "# TYPE g gauge\n"
            "g{l=\"a\\\"b\\\\c\\nd\"} +Inf\n"
            "# HELP n nan\n"
            "# TYPE n gauge\n"
            "n NaN\n"
            "# HELP s small\n"
            "# TYPE s gauge\n"
            "s 1e-07\n");
  EXPECT_EQ(InMemoryMetrics::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(InMemoryMetrics::format_value(0.1), "0.1");
}

TEST(InMemoryMetrics, CountersAreThreadSafe) {
  InMemoryMetrics m;
  constexpr int kThreads = 4, kAdds = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&m] {
      for (int i = 0; i < kAdds; ++i) m.add_counter("c_total", "c", {{"x", "y"}}, 1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.value("c_total", {{"x", "y"}}), static_cast<double>(kThreads * kAdds));
}

TEST(FakeContext, ExposesItsFakesThroughTheInterface) {
  FakeContext ctx("my-instance");
  PluginContext& base = ctx;
  EXPECT_EQ(base.instance_name(), "my-instance");
  EXPECT_EQ(base.cluster().system_namespace(), "workload-variant-autoscaler-system");
  base.logger().warn("hello");
  EXPECT_TRUE(ctx.fake_logger().contains("hello", LogLevel::kWarn));
  const TimePoint t0 = base.clock().now();
  ctx.fake_clock().advance(seconds(15));
  EXPECT_EQ(base.clock().now() - t0, seconds(15));
  base.metrics().set_gauge("x", "x", {}, 1);
  EXPECT_EQ(ctx.fake_metrics().value("x"), 1.0);
  ASSERT_TRUE(ctx.fake_cluster()
                  .put({{"kind", "ConfigMap"},
                        {"metadata", {{"name", "cm"}, {"namespace", "workload-variant-autoscaler-system"}}},
                        {"data", {{"k", "v"}}}})
                  .ok());
  auto got = base.cluster().get("ConfigMap", "workload-variant-autoscaler-system", "cm");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(config_map_data(**got).at("k"), "v");
}

TEST(FakeContext, TwoContextsShareNothing) {
  FakeContext a("a", "ns-a"), b("b", "ns-b");
  a.fake_logger().info("only a");
  a.fake_clock().advance(seconds(5));
  a.fake_metrics().set_gauge("g", "g", {}, 1);
  EXPECT_TRUE(b.fake_logger().lines().empty());
  EXPECT_EQ(b.fake_clock().now(), ManualClock::default_start());
  EXPECT_EQ(b.fake_metrics().render(), "");
  EXPECT_EQ(b.cluster().system_namespace(), "ns-b");
}

}  // namespace
