#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "host/metrics_registry.h"
#include "reference_metrics_registry.h"

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

// A label set's encoding sorts as sdk::Labels do (names and values compared byte by byte as unsigned,
// shorter first on a common prefix), including the bytes the encoding escapes ('\0', '\1').
TEST(MetricsRegistry, EncodedLabelsSortAsLabels) {
  std::mt19937 rng(1206);
  const std::string alphabet{'\0', '\1', '\2', 'a', 'b', '"', '\\', '\n', '\x7f', '\x80', '\xff'};
  auto random_string = [&] {
    std::string s;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  auto random_labels = [&] {
    sdk::Labels labels;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) labels[random_string()] = random_string();
    return labels;
  };
  for (int i = 0; i < 20000; ++i) {
    const sdk::Labels a = random_labels(), b = random_labels();
    const std::string ea = encode_labels(a), eb = encode_labels(b);
    ASSERT_EQ(a < b, ea < eb) << i;
    ASSERT_EQ(a == b, ea == eb) << i;
  }
}

// Random set / add / remove sequences (a series removed and set again, a family emptied and refilled,
// label sets shared by families, names and values with every escaped byte): the compact registry renders
// byte for byte what the former map-of-label-maps registry renders, and reads the same values.
TEST(MetricsRegistryEquivalence, RendersAndReadsAsTheReferenceOverRandomOperations) {
  std::mt19937 rng(61206);
  const std::vector<std::string> names{"inferno_desired_replicas", "inferno_current_replicas", "wva_cycles_total", "g"};
  const std::vector<std::string> label_names{"variant_name", "namespace", "model_name", "a", "", "x\"y"};
  const std::vector<std::string> label_values{
      "", "v1", "v2", "ns-a", std::string("nul\0in", 6), "q\"uo\\te\n", "\x80\xff", std::string(40, 'L')};
  auto random_labels = [&] {
    sdk::Labels labels;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n)
      labels[label_names[rng() % label_names.size()]] = label_values[rng() % label_values.size()];
    return labels;
  };
  for (int round = 0; round < 20; ++round) {
    MetricsRegistryImpl compact;
    reference::MetricsRegistry former;
    std::vector<std::pair<std::string, sdk::Labels>> seen;
    for (int op = 0; op < 1500; ++op) {
      const bool reuse = !seen.empty() && rng() % 2 == 0;
      auto [name, labels] = reuse ? seen[rng() % seen.size()] : std::pair{names[rng() % names.size()], random_labels()};
      if (!reuse) seen.emplace_back(name, labels);
      const double value = static_cast<double>(static_cast<int>(rng() % 2001) - 1000) / 8;
      switch (rng() % 5) {
        case 0:
        case 1:
          compact.set_gauge(name, "help of " + name, labels, value);
          former.set_gauge(name, "help of " + name, labels, value);
          break;
        case 2:
          compact.add_counter(name, "counted\n" + name, labels, value);
          former.add_counter(name, "counted\n" + name, labels, value);
          break;
        default: compact.remove(name, labels); former.remove(name, labels);
      }
      const auto& [probe_name, probe_labels] = seen[rng() % seen.size()];
      ASSERT_EQ(compact.value(probe_name, probe_labels), former.value(probe_name, probe_labels))
          << "round " << round << " op " << op;
      if (op % 50 == 0) {
        ASSERT_EQ(compact.render(), former.render()) << "round " << round << " op " << op;
      }
    }
    ASSERT_EQ(compact.render(), former.render()) << "round " << round;
    for (const auto& [name, labels] : seen) {
      compact.remove(name, labels);
      former.remove(name, labels);
    }
    EXPECT_EQ(compact.render(), "");
    EXPECT_EQ(former.render(), "");
    EXPECT_EQ(compact.label_sets(), 0u);  // every label set is released with its last series
  }
}

// The three gauges of a variant share one stored label set.
TEST(MetricsRegistry, FamiliesShareALabelSet) {
  MetricsRegistryImpl r;
  const sdk::Labels labels{{"variant_name", "v"}, {"namespace", "ns"}};
  r.set_gauge("inferno_desired_replicas", "h", labels, 1);
  r.set_gauge("inferno_current_replicas", "h", labels, 2);
  r.set_gauge("inferno_desired_ratio", "h", labels, 0.5);
  EXPECT_EQ(r.label_sets(), 1u);
  r.remove("inferno_desired_replicas", labels);
  r.remove("inferno_current_replicas", labels);
  EXPECT_EQ(r.label_sets(), 1u);
  EXPECT_EQ(r.value("inferno_desired_ratio", labels), 0.5);
  r.remove("inferno_desired_ratio", labels);
  EXPECT_EQ(r.label_sets(), 0u);
}

}  // namespace
}  // namespace wva::framework
