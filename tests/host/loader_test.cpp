// The loader refuses broken plugins with one line naming the file and the reason, and never crashes.
#include <gtest/gtest.h>

#include "host/loader.h"

namespace wva::framework {
namespace {

std::filesystem::path test_plugin(const std::string& name) {
  return std::filesystem::path(WVA_TEST_PLUGIN_DIR) / ("lib" + name + ".so");
}

TEST(Loader, LoadsAGoodPluginAndReadsItsDescriptor) {
  auto lib = PluginLibrary::open(test_plugin("test-good-analyzer"));
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  EXPECT_EQ(lib.value()->info().name, "test-good-analyzer");
  EXPECT_EQ(lib.value()->info().kinds, static_cast<std::uint32_t>(WVA_KIND_ANALYZER));
  auto object = lib.value()->create();
  ASSERT_TRUE(object.ok());
  EXPECT_NE(object.value()->as_analyzer(), nullptr);
  EXPECT_EQ(object.value()->as_source(), nullptr);
  EXPECT_FALSE(object.value()->configure({{"add", "x"}}, "analyzers.good").ok());
  auto bad = object.value()->configure({{"add", "x"}}, "analyzers.good");
  EXPECT_EQ(bad.error().path, "analyzers.good.add");
}

TEST(Loader, ObjectKeepsLibraryAliveAfterTheHandleIsDropped) {
  std::shared_ptr<sdk::Plugin> object;
  {
    auto lib = PluginLibrary::open(test_plugin("test-good-analyzer"));
    ASSERT_TRUE(lib.ok());
    object = lib.value()->create().value();
  }
  sdk::ModelView m;
  m.variants.push_back(sdk::Variant{.name = "v", .current_replicas = 2});
  auto rec = object->as_analyzer()->analyze(m, nullptr);  // code still mapped
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.value().targets.at(0).replicas, 2);
}

struct Refusal {
  std::string plugin;
  std::vector<std::string> message_parts;
};

class LoaderRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(LoaderRefuses, WithOneLineNamingFileAndReason) {
  const auto& param = GetParam();
  const auto file = test_plugin(param.plugin);
  auto lib = PluginLibrary::open(file);
  ASSERT_FALSE(lib.ok());
  const std::string& message = lib.error().message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  for (const auto& part : param.message_parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    BrokenPlugins, LoaderRefuses,
    ::testing::Values(Refusal{"test-bad-abi",
                              {"SDK ABI " + std::to_string(WVA_SDK_ABI_MAJOR + 1), "rebuild the plugin"}},
                      Refusal{"test-missing-symbol", {"missing symbol wva_plugin_create"}},
                      Refusal{"test-foreign-toolchain", {"msvc-19", "rebuild the plugin with the host's compiler"}},
                      // One field of the fingerprint apart, each (ABI 2.0 adds the libraries' versions).
                      Refusal{"test-fp-compiler", {"differs: compiler)"}},
                      Refusal{"test-fp-cxx11-abi", {"differs: libstdc++ dual ABI"}},
                      Refusal{"test-fp-cplusplus", {"differs: C++ standard", "c++201703"}},
                      Refusal{"test-fp-json-version", {"differs: nlohmann_json version)", "nlohmann_json 3."}},
                      Refusal{"test-fp-glibcxx-release", {"differs: libstdc++ version)"}},
                      Refusal{"test-fp-glibcxx-date", {"differs: libstdc++ version)"}},
                      Refusal{"test-does-not-exist", {"cannot load", "does not exist"}}),
    [](const auto& info) {
      std::string n = info.param.plugin;
      for (auto& c : n)
        if (c == '-') c = '_';
      return n;
    });

TEST(Loader, ThrowingConstructorIsReportedNotFatal) {
  auto lib = PluginLibrary::open(test_plugin("test-throwing-ctor"));
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  auto object = lib.value()->create();
  ASSERT_FALSE(object.ok());
  EXPECT_NE(object.error().message.find("constructor failed"), std::string::npos);
}

TEST(Loader, FindPluginSaysWhereItLooked) {
  auto r = find_plugin_file("nope", {"/tmp/a", "/tmp/b"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("libnope.so"), std::string::npos);
  EXPECT_NE(r.error().message.find("/tmp/a, /tmp/b"), std::string::npos);
  auto found = find_plugin_file("test-good-analyzer", {"/nonexistent", WVA_TEST_PLUGIN_DIR});
  ASSERT_TRUE(found.ok());
}

TEST(Loader, ScanListsAcceptedAndRefusedPlugins) {
  auto entries = scan_plugins({WVA_TEST_PLUGIN_DIR});
  int accepted = 0, refused = 0;
  for (const auto& e : entries) (e.info ? accepted : refused)++;
  EXPECT_EQ(accepted, 4);  // good, throwing-ctor (descriptor is fine), throwing-analyzer, hang-source
  EXPECT_EQ(refused, 9);   // bad-abi, missing-symbol, foreign-toolchain, six fingerprint fields (test-fp-*)
}

}  // namespace
}  // namespace wva::framework
