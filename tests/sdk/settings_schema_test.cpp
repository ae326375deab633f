// The declarative settings schema: validation collects every error with its path, in one wording;
// defaults are filled; a validated object validates again unchanged; the description and the Markdown
// table come from the same declaration.
#include <gtest/gtest.h>

#include <algorithm>

#include "wva/sdk/plugin.h"
#include "wva/sdk/settings_schema.h"

namespace wva::sdk {
namespace {

SettingsSchema example() {
  return {"Example settings.",
          {Setting::enumeration("mode", {"compatible", "improved"}, "compatible", "Rule set."),
           Setting::boolean("hysteresis", false, "Scale down only with margin."),
           Setting::integer("maxStep", std::nullopt, "Replicas per cycle.").at_least(1),
           Setting::number("target", 0.8, "Target use.").above(0).at_most(1),
           Setting::string("configMap", "wva-config", "ConfigMap to read.").non_empty(),
           Setting::duration("interval", "30s", "How often.").at_least(1000),
           Setting::list("queries", Setting::string("", std::nullopt, "").non_empty(), "Extra queries."),
           Setting::map("headers", Setting::string("", std::nullopt, ""), "HTTP headers."),
           Setting::object("tls",
                           {Setting::boolean("insecure", false, "Skip verification."),
                            Setting::string("caFile", std::nullopt, "CA bundle.")},
                           "TLS settings."),
           Setting::string("address", std::nullopt, "Where.").is_required()}};
}

std::vector<std::string> paths(const std::vector<Error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.path);
  return out;
}

const Error* find(const std::vector<Error>& errors, const std::string& path) {
  auto it = std::find_if(errors.begin(), errors.end(), [&](const Error& e) { return e.path == path; });
  return it == errors.end() ? nullptr : &*it;
}

TEST(SettingsSchema, DefaultsAreFilledAndAbsentOptionalsStayAbsent) {
  auto v = validate_settings(example(), {{"address", "x"}}, "analyzers.a");
  ASSERT_TRUE(v.ok()) << v.errors.front().to_string();
  EXPECT_EQ(v.values["mode"], "compatible");
  EXPECT_EQ(v.values["hysteresis"], false);
  EXPECT_DOUBLE_EQ(v.values["target"].get<double>(), 0.8);
  EXPECT_EQ(v.values["interval"], "30s");
  EXPECT_EQ(v.values["tls"]["insecure"], false);  // a nested object not written gets its defaults
  EXPECT_FALSE(v.values.contains("maxStep"));
  EXPECT_FALSE(v.values.contains("queries"));
  SettingsReader r(v.values);
  EXPECT_EQ(r.duration("interval"), std::chrono::seconds(30));
  EXPECT_EQ(r.string("configMap"), "wva-config");
  EXPECT_FALSE(r.has("maxStep"));
  EXPECT_EQ(r.optional<int>("maxStep"), std::nullopt);
}

TEST(SettingsSchema, EveryErrorIsCollectedWithItsFullPath) {
  const nlohmann::json bad = {
      {"mode", "improvd"},     {"hysteresis", "yes"},     {"maxStep", 0},
      {"target", 1.5},         {"configMap", ""},         {"interval", "10"},
      {"queries", {"up", ""}}, {"headers", {{"X-A", 3}}}, {"tls", {{"insecure", 1}, {"caFlie", "x"}}},
      {"intervall", "5s"}};
  auto v = validate_settings(example(), bad, "sources.p");
  ASSERT_FALSE(v.ok());
  const std::vector<std::string> expected = {"sources.p.intervall",  "sources.p.mode",         "sources.p.hysteresis",
                                             "sources.p.maxStep",    "sources.p.target",       "sources.p.configMap",
                                             "sources.p.interval",   "sources.p.queries[1]",   "sources.p.headers.X-A",
                                             "sources.p.tls.caFlie", "sources.p.tls.insecure", "sources.p.address"};
  auto got = paths(v.errors);
  std::sort(got.begin(), got.end());
  auto want = expected;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  for (const auto& e : v.errors) EXPECT_EQ(e.code, ErrorCode::kInvalidConfig) << e.to_string();
}

TEST(SettingsSchema, OneWordingWithDidYouMean) {
  auto v = validate_settings(example(), {{"address", "x"}, {"intervall", "5s"}, {"mode", "improvd"}}, "s");
  ASSERT_EQ(v.errors.size(), 2u);
  ASSERT_NE(find(v.errors, "s.intervall"), nullptr);
  EXPECT_EQ(find(v.errors, "s.intervall")->message, "unknown setting; did you mean \"interval\"?");
  ASSERT_NE(find(v.errors, "s.mode"), nullptr);
  EXPECT_EQ(find(v.errors, "s.mode")->message,
            "must be one of compatible, improved, got \"improvd\"; did you mean \"improved\"?");
}

TEST(SettingsSchema, RangeAndTypeMessagesSayWhatIsAccepted) {
  auto v = validate_settings(
      example(), {{"address", "x"}, {"target", 0}, {"maxStep", 2.5}, {"interval", "500ms"}, {"hysteresis", 1}}, "s");
  ASSERT_EQ(v.errors.size(), 4u);
  EXPECT_EQ(find(v.errors, "s.target")->message, "must be a number in (0, 1], got 0");
  EXPECT_EQ(find(v.errors, "s.maxStep")->message, "must be a whole number >= 1, got 2.5");
  EXPECT_EQ(find(v.errors, "s.interval")->message, "must be a duration (e.g. 500ms, 15s, 1m30s) >= 1s, got \"500ms\"");
  EXPECT_EQ(find(v.errors, "s.hysteresis")->message, "must be true or false, got 1");
  auto missing = validate_settings(example(), nlohmann::json::object(), "s");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].to_string(), "s.address: required setting is missing (a string)");
}

TEST(SettingsSchema, ABadDurationSaysWhyInTheOneGrammar) {
  auto v = validate_settings(example(), {{"address", "x"}, {"interval", "5 minutes"}}, "s");
  ASSERT_EQ(v.errors.size(), 1u);
  EXPECT_NE(v.errors[0].message.find("invalid duration \"5 minutes\""), std::string::npos) << v.errors[0].message;
  EXPECT_EQ(v.errors[0].path, "s.interval");
}

TEST(SettingsSchema, NullIsNoSettingsAndANonMapIsOneError) {
  SettingsSchema optional_only = {"", {Setting::boolean("on", true, "")}};
  auto v = validate_settings(optional_only, nlohmann::json(), "sinks.log");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.values, nlohmann::json({{"on", true}}));
  auto list = validate_settings(optional_only, nlohmann::json::array({1}), "sinks.log");
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_EQ(list.errors[0].to_string(), "sinks.log: must be a map of settings, got [1]");
}

TEST(SettingsSchema, ValidatingValidatedSettingsIsIdempotent) {
  const nlohmann::json in = {{"address", "x"}, {"maxStep", 3.0}, {"interval", "1m30s"}, {"queries", {"a"}}};
  auto once = validate_settings(example(), in, "s");
  ASSERT_TRUE(once.ok());
  EXPECT_TRUE(once.values["maxStep"].is_number_integer());
  auto twice = validate_settings(example(), once.values, "s");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(once.values, twice.values);
}

TEST(SettingsSchema, SecondsAsNumberDurationsTakeBareNumbers) {
  SettingsSchema s = {"", {Setting::duration("delay", "90s", "").seconds_when_number()}};
  auto v = validate_settings(s, {{"delay", 1.5}}, "x");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(SettingsReader(v.values).duration("delay"), std::chrono::milliseconds(1500));
  SettingsSchema strict = {"", {Setting::duration("delay", "90s", "")}};
  EXPECT_FALSE(validate_settings(strict, {{"delay", 1.5}}, "x").ok());
}

TEST(SettingsSchema, NullableFieldsKeepNull) {
  SettingsSchema s = {"", {Setting::integer("limit", 10, "").at_least(1).or_null()}};
  auto v = validate_settings(s, {{"limit", nullptr}}, "x");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.values.contains("limit"));
  EXPECT_TRUE(v.values["limit"].is_null());
  EXPECT_FALSE(SettingsReader(v.values).has("limit"));
}

TEST(SettingsSchema, DescribeAndMarkdownShowDefaultsAndNestedFields) {
  const std::string text = describe_settings(example());
  EXPECT_NE(text.find("interval  (a duration (e.g. 500ms, 15s, 1m30s) >= 1s; default: 30s)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("tls.insecure  (true or false; default: false)"), std::string::npos) << text;
  EXPECT_NE(text.find("address  (a string; default: required)"), std::string::npos) << text;
  const std::string md = settings_markdown(example());
  EXPECT_NE(md.find("| `mode` | one of compatible, improved | `compatible` | Rule set. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `address` | a string | required | Where. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `maxStep` | a whole number >= 1 | - | Replicas per cycle. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `queries` | a list, each a string not empty | - | Extra queries. |"), std::string::npos) << md;
}

TEST(SettingsSchema, CheckSchemaFindsBadDefaultsAndDuplicates) {
  EXPECT_TRUE(check_schema(example()).empty());
  SettingsSchema bad = {"",
                        {Setting::number("t", 2, "").in_range(0, 1), Setting::enumeration("m", {}, std::nullopt, ""),
                         Setting::boolean("t", false, "")}};
  auto errors = check_schema(bad);
  EXPECT_EQ(errors.size(), 3u);
}

class SchemaPlugin final : public Plugin {
 public:
  Result<void> configure(const Config& config, const std::string&) override {
    seen = config;
    return ok();
  }
  Result<void> start(PluginContext&) override { return ok(); }
  void stop() noexcept override {}
  std::optional<SettingsSchema> settings_schema() const override {
    return SettingsSchema{"", {Setting::integer("min", 1, ""), Setting::integer("max", 5, "")}};
  }
  std::vector<Error> check_settings(const Config& s, const std::string& path) const override {
    if (s["max"].get<int>() < s["min"].get<int>())
      return {make_error(ErrorCode::kInvalidConfig, "must be >= min", path + ".max")};
    return {};
  }
  Config seen;
};

TEST(PrepareSettings, SchemaFirstThenTheCrossFieldRules) {
  SchemaPlugin p;
  auto bad_types = prepare_settings(p, {{"min", "a"}, {"max", "b"}}, "analyzers.x");
  EXPECT_EQ(bad_types.errors.size(), 2u);  // the cross-field rule does not run on unvalidated values
  auto cross = prepare_settings(p, {{"min", 6}}, "analyzers.x");
  ASSERT_EQ(cross.errors.size(), 1u);
  EXPECT_EQ(cross.errors[0].to_string(), "analyzers.x.max: must be >= min");
  auto good = prepare_settings(p, nlohmann::json(), "analyzers.x");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.values, nlohmann::json({{"min", 1}, {"max", 5}}));
}

}  // namespace
}  // namespace wva::sdk

namespace wva::sdk {
namespace {

// The one duration grammar (the host, the schema, the prometheus source and the emulator read it).
TEST(DurationGrammar, UnitsFromMillisecondsToWeeksAndBounds) {
  EXPECT_EQ(*parse_duration("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(*parse_duration("1d"), std::chrono::hours(24));
  EXPECT_EQ(*parse_duration("2w"), std::chrono::hours(24 * 14));
  EXPECT_EQ(*parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_FALSE(parse_duration("10").ok());
  EXPECT_FALSE(parse_duration("5y").ok());
  EXPECT_FALSE(parse_duration("99999999999999999s").ok());
}

}  // namespace
}  // namespace wva::sdk
