// The plugin conformance suite: every plugin passes it. It loads the built lib<name>.so the way the host
// does (descriptor first, then create), and checks the contract of docs/architecture.md section 3: descriptor and
// kinds, its settings schema (consistent, every field described, invalid settings yield every error with
// its path), configure with a valid and an invalid config as the host does (prepare_settings, then
// configure: an Error with a path), start/stop twice with stop idempotent, empty inputs handled without
// throwing, and two instances that coexist.
//
//   #include "wva/sdk/testing/conformance.h"
//   using wva::sdk::testing::PluginConformance;  // GoogleTest pastes the suite name into identifiers,
//                                                // so INSTANTIATE_TEST_SUITE_P needs it unqualified
//   INSTANTIATE_TEST_SUITE_P(Log, PluginConformance,
//       ::testing::Values(wva::sdk::testing::ConformanceCase{
//           WVA_PLUGIN_DIR "/liblog.so", {{"format", "json"}}, {{"format", "xml"}}, "log", WVA_KIND_SINK}),
//       wva::sdk::testing::ConformanceCaseName());
//
// or, the same in one line: WVA_PLUGIN_CONFORMANCE(Log, wva::sdk::testing::ConformanceCase{...});
// Include this header in ONE source file per test program (it defines the TEST_Ps).
//
// Link the test with wva_sdk::testing (in tree: wva_sdk_testing) and GTest::gtest_main.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/dll/shared_library.hpp>
#include <nlohmann/json.hpp>

#include "wva/sdk/abi.h"
#include "wva/sdk/plugin.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::sdk::testing {

struct ConformanceCase {
  std::string plugin_file;        // path of lib<name>.so
  nlohmann::json valid_config;    // configure() must accept it
  nlohmann::json invalid_config;  // configure() must refuse it with an Error that has a path
  std::string expected_name;      // descriptor name
  std::uint32_t expected_kinds;   // bitmask of wva_plugin_kind
};

// Shown by GoogleTest instead of raw bytes.
inline void PrintTo(const ConformanceCase& c, std::ostream* os) {
  *os << c.expected_name << " (" << kinds_to_string(c.expected_kinds) << ") from " << c.plugin_file;
}

// Names instantiated tests after the plugin: PluginConformance.StartStopTwice/log.
struct ConformanceCaseName {
  std::string operator()(const ::testing::TestParamInfo<ConformanceCase>& info) const {
    std::string out;
    for (char c : info.param.expected_name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return (out.empty() ? "plugin" : out) + "_" + std::to_string(info.index);
  }
};

// lib<name>.so in `dir`.
inline std::string plugin_file(const std::string& dir, const std::string& name) { return dir + "/lib" + name + ".so"; }

// A plugin library opened the way the host opens it. Objects it created must be destroyed (through
// destroy()) before the library is unloaded, so hold them in Instance, which does that.
class LoadedPlugin {
 public:
  using DescribeFn = const wva_plugin_descriptor*();
  using CreateFn = Plugin*();
  using DestroyFn = void(Plugin*);

  struct Destroyer {
    DestroyFn* destroy = nullptr;
    void operator()(Plugin* p) const {
      if (p && destroy) destroy(p);
    }
  };
  using Instance = std::unique_ptr<Plugin, Destroyer>;

  // Returns an error message instead of throwing when the file cannot be loaded or lacks a symbol.
  static std::optional<std::string> load(const std::string& file, std::shared_ptr<LoadedPlugin>& out) {
    try {
      auto p = std::shared_ptr<LoadedPlugin>(new LoadedPlugin());
      p->library_.load(file, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
      for (const char* symbol : {kDescriptorSymbol, kCreateSymbol, kDestroySymbol})
        if (!p->library_.has(symbol)) return file + ": missing symbol " + symbol;
      p->describe_ = &p->library_.get<DescribeFn>(kDescriptorSymbol);
      p->create_ = &p->library_.get<CreateFn>(kCreateSymbol);
      p->destroy_ = &p->library_.get<DestroyFn>(kDestroySymbol);
      out = std::move(p);
      return std::nullopt;
    } catch (const std::exception& e) {
      return file + ": cannot load: " + e.what();
    }
  }

  const wva_plugin_descriptor* describe() const { return describe_(); }
  Instance create() const { return Instance(create_(), Destroyer{destroy_}); }

 private:
  LoadedPlugin() = default;
  boost::dll::shared_library library_;
  DescribeFn* describe_ = nullptr;
  CreateFn* create_ = nullptr;
  DestroyFn* destroy_ = nullptr;
};

// A value no field of type `s` accepts (a list is wrong for every type but a list; a map for a list).
inline nlohmann::json wrong_value_for(const Setting& s) {
  if (s.type == SettingType::kList) return nlohmann::json::object({{"not", "a list"}});
  return nlohmann::json::array({nlohmann::json::array({true})});
}

// A model with one variant and no metrics (state kNoData), for the empty-input checks.
inline ModelView model_without_metrics() {
  ModelView m;
  m.key = ModelKey{"conformance", "conformance/model"};
  m.va_name = "conformance-va";
  Variant v;
  v.name = "conformance-variant";
  v.va_name = m.va_name;
  v.accelerator = "H100";
  v.current_replicas = 1;
  v.ready_replicas = 1;
  v.pods = {"conformance-variant-0"};
  m.variants.push_back(v);
  m.metrics.state = MetricsState::kNoData;
  m.metrics.message = "conformance: no metrics";
  return m;
}

class PluginConformance : public ::testing::TestWithParam<ConformanceCase> {
 protected:
  static constexpr const char* kConfigPath = "conformance.plugin";

  void SetUp() override {
    auto error = LoadedPlugin::load(GetParam().plugin_file, lib_);
    ASSERT_FALSE(error.has_value()) << *error;
    ASSERT_NE(lib_, nullptr);
  }
  void TearDown() override { lib_.reset(); }

  LoadedPlugin::Instance create() {
    auto p = lib_->create();
    EXPECT_NE(p, nullptr) << GetParam().plugin_file << ": wva_plugin_create returned nullptr";
    return p;
  }

  // Calls every entry point the plugin's kinds have with empty input; none may throw.
  static void exercise_empty_inputs(Plugin& plugin) {
    if (Source* s = plugin.as_source()) {
      std::vector<ModelView> none;
      EXPECT_NO_THROW({
        auto r = s->collect(std::span<const ModelView>(none), Deadline::in(std::chrono::seconds(5)));
        if (r.ok()) {
          EXPECT_TRUE(r->empty()) << "collect of zero models returned metrics";
        }
      });
    }
    if (Analyzer* a = plugin.as_analyzer()) {
      std::vector<ModelView> models{model_without_metrics()};
      EXPECT_NO_THROW({ (void)a->prepare_cycle(std::span<const ModelView>()); });
      EXPECT_NO_THROW({ (void)a->prepare_cycle(std::span<const ModelView>(models)); });
      EXPECT_NO_THROW({ (void)a->analyze(models.front(), nullptr); });
    }
    if (Sink* k = plugin.as_sink()) {
      PublishBatch batch;
      batch.pipeline = "conformance";
      batch.time = ManualClock::default_start();
      EXPECT_NO_THROW({ (void)k->publish(batch); });
    }
    if (Combiner* c = plugin.as_combiner()) {
      // An empty chain, and a chain of one analyzer without an opinion.
      const ModelView model = model_without_metrics();
      Recommendation silent;
      silent.analyzer = "conformance";
      silent.has_opinion = false;
      const std::vector<ChainLink> one = {{"conformance", &silent}};
      EXPECT_NO_THROW({ (void)c->check_chain(std::span<const std::string>(), "pipelines.conformance.combine"); });
      EXPECT_NO_THROW({ (void)c->combine(model, std::span<const ChainLink>()); });
      EXPECT_NO_THROW({ (void)c->combine(model, std::span<const ChainLink>(one)); });
    }
  }

  std::shared_ptr<LoadedPlugin> lib_;
};

TEST_P(PluginConformance, DescriptorMatchesHostAndCase) {
  const wva_plugin_descriptor* d = lib_->describe();
  ASSERT_NE(d, nullptr) << "wva_plugin_describe returned nullptr";
  auto check = check_descriptor(*d);
  EXPECT_TRUE(check.ok()) << check.error().to_string();
  ASSERT_NE(d->name, nullptr);
  EXPECT_EQ(std::string(d->name), GetParam().expected_name);
  EXPECT_EQ(d->kinds, GetParam().expected_kinds)
      << kinds_to_string(d->kinds) << " vs expected " << kinds_to_string(GetParam().expected_kinds);
  ASSERT_NE(d->version, nullptr);
  EXPECT_STRNE(d->version, "") << "descriptor has an empty version";
  // The file is lib<name>.so: the host finds plugins by name.
  const std::string file = GetParam().plugin_file;
  const std::string expected_file = "lib" + GetParam().expected_name + ".so";
  EXPECT_GE(file.size(), expected_file.size());
  if (file.size() >= expected_file.size()) {
    EXPECT_EQ(file.substr(file.size() - expected_file.size()), expected_file);
  }
}

TEST_P(PluginConformance, CreatedObjectExposesExactlyItsKinds) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  const std::uint32_t kinds = GetParam().expected_kinds;
  EXPECT_EQ(p->as_source() != nullptr, (kinds & WVA_KIND_SOURCE) != 0) << "as_source() vs kinds";
  EXPECT_EQ(p->as_analyzer() != nullptr, (kinds & WVA_KIND_ANALYZER) != 0) << "as_analyzer() vs kinds";
  EXPECT_EQ(p->as_sink() != nullptr, (kinds & WVA_KIND_SINK) != 0) << "as_sink() vs kinds";
  EXPECT_EQ(p->as_model_discovery() != nullptr, (kinds & WVA_KIND_MODEL_DISCOVERY) != 0)
      << "as_model_discovery() vs kinds";
  EXPECT_EQ(p->as_combiner() != nullptr, (kinds & WVA_KIND_COMBINER) != 0) << "as_combiner() vs kinds";
}

TEST_P(PluginConformance, AcceptsValidConfig) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  std::vector<Error> errors;
  ASSERT_NO_THROW(errors = configure_as_host(*p, GetParam().valid_config, kConfigPath));
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
}

TEST_P(PluginConformance, RefusesInvalidConfigWithPathAndMessage) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  std::vector<Error> errors;
  ASSERT_NO_THROW(errors = configure_as_host(*p, GetParam().invalid_config, kConfigPath));
  ASSERT_FALSE(errors.empty()) << "configure accepted " << GetParam().invalid_config.dump();
  for (const auto& e : errors) {
    EXPECT_EQ(e.code, ErrorCode::kInvalidConfig) << to_string(e.code);
    EXPECT_FALSE(e.path.empty()) << "error has no config path: " << e.message;
    EXPECT_FALSE(e.message.empty()) << "error has no message";
    // The path starts at the config path the host gave, so the operator can find it in pipelines.yaml.
    EXPECT_EQ(e.path.rfind(kConfigPath, 0), 0u)
        << "path '" << e.path << "' does not start with '" << kConfigPath << "'";
  }
}

TEST_P(PluginConformance, ConfigureOfAnyJsonNeverThrows) {
  const std::vector<nlohmann::json> odd = {nlohmann::json(), nlohmann::json::array({1, 2}), nlohmann::json("x"),
                                           nlohmann::json(42), nlohmann::json::object()};
  for (const auto& config : odd) {
    auto p = create();
    ASSERT_NE(p, nullptr);
    EXPECT_NO_THROW({ (void)configure_as_host(*p, config, kConfigPath); }) << config.dump();
  }
}

// The schema a plugin declares is consistent (every default valid, names unique) and says what every
// field is for.
TEST_P(PluginConformance, SettingsSchemaIsConsistentAndDescribed) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  std::optional<SettingsSchema> schema;
  ASSERT_NO_THROW(schema = p->settings_schema());
  if (!schema) GTEST_SKIP() << "the plugin declares no settings schema";
  const auto errors = check_schema(*schema, kConfigPath);
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
  for (const auto& [name, field] : flatten_settings(*schema))
    EXPECT_FALSE(field->description.empty()) << name << " has no description";
  // Validating what validation produced changes nothing (the host may hand the same settings again).
  auto once = prepare_settings(*p, GetParam().valid_config, kConfigPath);
  ASSERT_TRUE(once.ok()) << errors_text(once.errors);
  auto twice = prepare_settings(*p, once.values, kConfigPath);
  ASSERT_TRUE(twice.ok()) << errors_text(twice.errors);
  EXPECT_EQ(once.values, twice.values);
}

// Invalid settings yield all their errors, each with its path: two fields of the wrong type and an
// unknown key give three errors, not the first one alone.
TEST_P(PluginConformance, InvalidSettingsYieldEveryErrorWithItsPath) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  const auto schema = p->settings_schema();
  if (!schema) GTEST_SKIP() << "the plugin declares no settings schema";
  nlohmann::json bad = GetParam().valid_config.is_object() ? GetParam().valid_config : nlohmann::json::object();
  std::vector<std::string> expected;
  for (const auto& field : schema->fields) {
    if (expected.size() == 2) break;
    if (field.type == SettingType::kCustom) continue;  // checked by check_settings, after the schema
    bad[field.name] = wrong_value_for(field);
    expected.push_back(std::string(kConfigPath) + "." + field.name);
  }
  bad["notASettingOfThisPlugin"] = 1;
  expected.push_back(std::string(kConfigPath) + ".notASettingOfThisPlugin");
  std::vector<Error> errors;
  ASSERT_NO_THROW(errors = configure_as_host(*p, bad, kConfigPath));
  for (const auto& path : expected)
    EXPECT_TRUE(std::any_of(errors.begin(), errors.end(), [&](const Error& e) { return e.path == path; }))
        << "no error for " << path << " in:\n"
        << errors_text(errors);
  for (const auto& e : errors) EXPECT_EQ(e.code, ErrorCode::kInvalidConfig) << e.to_string();
}

TEST_P(PluginConformance, StartStopTwiceAndStopIsIdempotent) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(configure_as_host(*p, GetParam().valid_config, kConfigPath).empty());
  FakeContext ctx("conformance");
  for (int round = 0; round < 2; ++round) {
    Result<void> r;
    ASSERT_NO_THROW(r = p->start(ctx)) << "round " << round;
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.error().to_string() << "\n" << ctx.fake_logger().dump();
    p->stop();
    p->stop();
  }
}

TEST_P(PluginConformance, StopWithoutStartIsSafe) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  p->stop();
  ASSERT_TRUE(configure_as_host(*p, GetParam().valid_config, kConfigPath).empty());
  p->stop();
}

TEST_P(PluginConformance, EmptyInputsDoNotThrow) {
  auto p = create();
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(configure_as_host(*p, GetParam().valid_config, kConfigPath).empty());
  FakeContext ctx("conformance");
  auto r = p->start(ctx);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  exercise_empty_inputs(*p);
  p->stop();
}

TEST_P(PluginConformance, TwoInstancesCoexist) {
  auto first = create();
  auto second = create();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(first.get(), second.get());
  ASSERT_TRUE(configure_as_host(*first, GetParam().valid_config, "conformance.first").empty());
  ASSERT_TRUE(configure_as_host(*second, GetParam().valid_config, "conformance.second").empty());
  FakeContext ctx1("first");
  FakeContext ctx2("second");
  ASSERT_TRUE(first->start(ctx1).ok());
  ASSERT_TRUE(second->start(ctx2).ok());
  // The second instance's config errors carry its own path, not the first's.
  auto third = create();
  ASSERT_NE(third, nullptr);
  auto bad = configure_as_host(*third, GetParam().invalid_config, "conformance.third");
  ASSERT_FALSE(bad.empty());
  for (const auto& e : bad) EXPECT_EQ(e.path.rfind("conformance.third", 0), 0u) << e.path;
  exercise_empty_inputs(*first);
  // Stopping and destroying one leaves the other working.
  first->stop();
  first.reset();
  exercise_empty_inputs(*second);
  second->stop();
}

}  // namespace wva::sdk::testing

// Instantiates the conformance suite for one or more ConformanceCase values, named after the plugin.
#define WVA_PLUGIN_CONFORMANCE(Prefix, ...)                                           \
  using wva::sdk::testing::PluginConformance;                                         \
  INSTANTIATE_TEST_SUITE_P(Prefix, PluginConformance, ::testing::Values(__VA_ARGS__), \
                           ::wva::sdk::testing::ConformanceCaseName())
