// pipelines.yaml `deadlines` (per pipeline) and `plugins.restartBackoff`: defaults derived from the
// interval, overrides, and every bad value an error with its path.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"

namespace wva::framework {
namespace {

using namespace std::chrono_literals;

std::string config(const std::string& pipeline_extra, const std::string& plugins = "") {
  return plugins +
         "sources: {s: {}}\nanalyzers: {a: {}}\nsinks: {k: {}}\npipelines:\n  p:\n    source: s\n"
         "    analyzers: [a]\n    sinks: [k]\n" +
         pipeline_extra;
}

std::string all_errors(const ConfigParse& parsed) {
  std::string out;
  for (const auto& e : parsed.errors) out += e.to_string() + "\n";
  return out;
}

TEST(DeadlinesConfig, DefaultsAreFractionsOfTheInterval) {
  auto parsed = parse_pipelines_yaml(config("    interval: 60s\n"), 60s);
  ASSERT_TRUE(parsed.config) << all_errors(parsed);
  auto d = parsed.config->pipelines[0].effective_deadlines();
  EXPECT_EQ(d.collect, 10s);  // min(interval, 10 s)
  EXPECT_EQ(d.collect_grace(), 5s);
  EXPECT_EQ(d.prepare, 30s);  // interval / 2 within [5 s, 30 s]
  EXPECT_EQ(d.analyze, 30s);
  EXPECT_EQ(d.publish, 30s);

  parsed = parse_pipelines_yaml(config("    interval: 1s\n"), 60s);
  ASSERT_TRUE(parsed.config) << all_errors(parsed);
  d = parsed.config->pipelines[0].effective_deadlines();
  EXPECT_EQ(d.collect, 1s);
  EXPECT_EQ(d.collect_grace(), 1s);
  EXPECT_EQ(d.analyze, 5s);

  parsed = parse_pipelines_yaml(config("    interval: 20s\n"), 60s);
  ASSERT_TRUE(parsed.config) << all_errors(parsed);
  EXPECT_EQ(parsed.config->pipelines[0].effective_deadlines().analyze, 10s);
  const RestartBackoff backoff = parsed.config->restart_backoff;
  EXPECT_EQ(backoff.initial, 10s);
  EXPECT_EQ(backoff.max, 5min);
}

TEST(DeadlinesConfig, SetValuesWinAndBackoffDoublesUpToItsMaximum) {
  auto parsed = parse_pipelines_yaml(config("    deadlines: {collect: 3s, prepare: 2s, analyze: 250ms, publish: 4s}\n",
                                            "plugins: {paths: [x], restartBackoff: {initial: 1s, max: 5s}}\n"),
                                     60s);
  ASSERT_TRUE(parsed.config) << all_errors(parsed);
  const auto d = parsed.config->pipelines[0].effective_deadlines();
  EXPECT_EQ(d.collect, 3s);
  EXPECT_EQ(d.collect_grace(), 1500ms);
  EXPECT_EQ(d.prepare, 2s);
  EXPECT_EQ(d.analyze, 250ms);
  EXPECT_EQ(d.publish, 4s);
  const auto& b = parsed.config->restart_backoff;
  EXPECT_EQ(b.delay(0), 1s);
  EXPECT_EQ(b.delay(1), 2s);
  EXPECT_EQ(b.delay(2), 4s);
  EXPECT_EQ(b.delay(3), 5s);
  EXPECT_EQ(b.delay(1000), 5s) << "bounded, no overflow";

  // The effective values are written out and read back the same.
  const std::string text = to_yaml(*parsed.config);
  EXPECT_NE(text.find("deadlines: {collect: 3s, prepare: 2s, analyze: 250ms, publish: 4s}"), std::string::npos) << text;
  EXPECT_NE(text.find("restartBackoff: {initial: 1s, max: 5s}"), std::string::npos) << text;
  auto again = parse_pipelines_yaml(text, 60s);
  ASSERT_TRUE(again.config) << all_errors(again) << text;
  EXPECT_EQ(again.config->pipelines[0].effective_deadlines().analyze, 250ms);
  EXPECT_EQ(to_yaml(*again.config), text);
}

TEST(DeadlinesConfig, BadValuesAreErrorsWithTheirPaths) {
  auto parsed = parse_pipelines_yaml(
      config("    deadlines: {collect: 0s, prepare: -1s, analyse: 1s, publish: soon, analyze: [1s]}\n",
             "plugins: {restartBackoff: {initial: 10s, max: 1s}}\n"),
      60s);
  ASSERT_FALSE(parsed.config);
  const std::string errors = all_errors(parsed);
  EXPECT_NE(errors.find("pipelines.p.deadlines.collect: must be greater than 0"), std::string::npos) << errors;
  EXPECT_NE(errors.find("pipelines.p.deadlines.prepare:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("pipelines.p.deadlines.analyse: unknown key \"analyse\"; did you mean \"analyze\""),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("pipelines.p.deadlines.publish:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("pipelines.p.deadlines.analyze: must be a duration such as 10s, got a list"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("plugins.restartBackoff.max: max (1s) must not be less than initial (10s)"), std::string::npos)
      << errors;

  // An initial back-off beyond the default maximum raises the maximum when it is not set.
  parsed = parse_pipelines_yaml(config("", "plugins: {restartBackoff: {initial: 10m}}\n"), 60s);
  ASSERT_TRUE(parsed.config) << all_errors(parsed);
  EXPECT_EQ(parsed.config->restart_backoff.max, 10min);

  parsed = parse_pipelines_yaml(config("    deadlines: 5s\n", "plugins: {restartBackoff: {initial: 0s}}\n"), 60s);
  ASSERT_FALSE(parsed.config);
  const std::string more = all_errors(parsed);
  EXPECT_NE(more.find("pipelines.p.deadlines: must be a mapping"), std::string::npos) << more;
  EXPECT_NE(more.find("plugins.restartBackoff.initial: must be greater than 0"), std::string::npos) << more;
}

}  // namespace
}  // namespace wva::framework
