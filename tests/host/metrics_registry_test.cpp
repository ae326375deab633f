#include <gtest/gtest.h>

#include <cmath>

#include "host/metrics_registry.h"

namespace wva::framework {
namespace {

TEST(MetricsRegistry, RendersGaugesAndCountersInExpositionFormat) {
  MetricsRegistryImpl r;
  r.set_gauge("inferno_desired_replicas", "Desired replicas", {{"variant_name", "a\"b"}, {"namespace", "ns"}}, 3);
  r.add_counter("wva_cycles_total", "Cycles", {}, 1);
  r.add_counter("wva_cycles_total", "Cycles", {}, 2);
  const auto text = r.render();
  EXPECT_NE(text.find("# TYPE inferno_desired_replicas gauge\n"), std::string::npos);
  EXPECT_NE(text.find("inferno_desired_replicas{namespace=\"ns\",variant_name=\"a\\\"b\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("wva_cycles_total 3\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, RemoveDropsTheSeriesAndEmptyFamilies) {
  MetricsRegistryImpl r;
  r.set_gauge("g", "h", {{"v", "1"}}, 1);
  r.set_gauge("g", "h", {{"v", "2"}}, 2);
  r.remove("g", {{"v", "1"}});
  EXPECT_EQ(r.value("g", {{"v", "1"}}), std::nullopt);
  EXPECT_EQ(r.value("g", {{"v", "2"}}), 2.0);
  r.remove("g", {{"v", "2"}});
  EXPECT_EQ(r.render().find("# TYPE g"), std::string::npos);
}

TEST(MetricsRegistry, SpecialValues) {
  MetricsRegistryImpl r;
  r.set_gauge("n", "h", {}, std::nan(""));
  r.set_gauge("i", "h", {}, INFINITY);
  const auto text = r.render();
  EXPECT_NE(text.find("n NaN"), std::string::npos);
  EXPECT_NE(text.find("i +Inf"), std::string::npos);
}

// HELP text escapes backslash and newline (the exposition format's rule); a newline left raw would end the
// line and make the rest of the help an invalid sample line for a scraper.
TEST(MetricsRegistry, HelpIsEscaped) {
  MetricsRegistryImpl r;
  r.set_gauge("g", "first line\nsecond \\ \"quoted\"", {}, 1);
  EXPECT_NE(r.render().find("# HELP g first line\\nsecond \\\\ \"quoted\"\n# TYPE g gauge\n"), std::string::npos)
      << r.render();
}

}  // namespace
}  // namespace wva::framework
