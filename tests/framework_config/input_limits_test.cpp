// Bounded parsing of everything WVA reads (issue 14): deep nesting, YAML alias expansion ("billion
// laughs"), file sizes, control characters in names. Each test names the defect it pins.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "cluster/local_cluster.h"
#include "config/input_limits.h"
#include "config/pipeline_config.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("wva-limits-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    fs::last_write_time(p, fs::file_time_type::clock::now() + std::chrono::seconds(++bump_));
  }

 private:
  fs::path path_;
  int bump_ = 0;
};

constexpr const char* kConfigMap = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
  namespace: llm
data:
  a: "1"
)";

// {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"spec":[[[...]]]} nested `depth` deep.
std::string deep_json(std::size_t depth) {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"spec":)" + std::string(depth, '[') +
         std::string(depth, ']') + "}";
}

// Ten times more nodes per level: 10^levels strings from a ~60 + 50*levels byte document.
std::string billion_laughs(int levels, const std::string& indent = "") {
  std::string out = indent + "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < levels; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    out += indent + "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) out += ", " + prev;
    out += "]\n";
  }
  return out;
}

// --- Defect 1: SIGSEGV on a 200,000-deep manifest (recursive copy in LocalCluster::install) ---------

TEST(InputLimits, Defect1DeepJsonManifestIsAnErrorNotACrash) {
  TempDir dir;
  dir.write("plain.yaml", kConfigMap);
  dir.write("deep.json", deep_json(200'000));
  LocalCluster cluster(dir.path(), "wva-system");
  auto r = cluster.load();
  ASSERT_FALSE(r.ok());
  const std::string msg = r.error().message;
  EXPECT_NE(msg.find("deep.json[doc 1]: nested deeper than 128 levels (the limit)"), std::string::npos) << msg;
}

TEST(InputLimits, Defect1DeepYamlManifestIsAnErrorNotACrash) {
  TempDir dir;
  // Block mappings, 300 deep.
  std::string yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nspec:\n";
  for (int i = 0; i < 300; ++i) yaml += std::string(2 * (i + 1), ' ') + "k:\n";
  dir.write("deep-block.yaml", yaml);
  // Flow lists, 200,000 deep: stopped at the 129th level, before the parser reads further.
  dir.write("deep-flow.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flow}\nspec: " +
                                  std::string(200'000, '[') + std::string(200'000, ']') + "\n");
  LocalCluster cluster(dir.path(), "wva-system");
  auto r = cluster.load();
  ASSERT_FALSE(r.ok());
  const std::string msg = r.error().message;
  EXPECT_NE(msg.find("deep-block.yaml[doc 1]: nested deeper than 128 levels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("deep-flow.yaml[doc 1]: nested deeper than 128 levels (the limit)"), std::string::npos) << msg;
}

// Found by fuzzing (tests/fuzz/fuzz_manifest_loader): yaml-cpp 0.7 looped, allocating without bound, on
// documents such as a root starting with ',' (a 70-byte manifest took 4 GB in 20 s). YAML is now read by
// libyaml (sdk::yaml): such a document is a syntax error with its position, in a manifest folder and in
// pipelines.yaml. (tests/sdk/yaml_test.cpp has every form the fuzzer found.)
TEST(InputLimits, FuzzFindingYamlCppLoopsAreSyntaxErrorsWithTheirPosition) {
  TempDir dir;
  dir.write("comma.yaml", "#x\n  ,b c\n");
  dir.write("tag.yaml", "a: 1\n---\n!t[a]\n,");
  LocalCluster cluster(dir.path(), "wva-system");
  auto r = cluster.load();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("comma.yaml:2:3: "), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("tag.yaml:"), std::string::npos) << r.error().message;
  for (const char* bad : {",", "  a:\n, x", "c\n  # x:\n, y"}) {
    const auto parsed = parse_pipelines_yaml(bad, 30s, "pipelines.yaml");
    EXPECT_FALSE(parsed.config.has_value());
    ASSERT_EQ(parsed.errors.size(), 1u) << bad;
    EXPECT_EQ(parsed.errors.front().to_string().rfind("pipelines.yaml:", 0), 0u) << parsed.errors.front().to_string();
  }
}

TEST(InputLimits, Defect1DeepManifestKeepsTheLastGoodObjects) {
  TempDir dir;
  dir.write("plain.yaml", kConfigMap);
  LocalCluster cluster(dir.path(), "wva-system");
  ASSERT_TRUE(cluster.load().ok());
  dir.write("deep.json", deep_json(200'000));
  EXPECT_FALSE(cluster.refresh().ok());
  auto cm = cluster.get("ConfigMap", "llm", "plain");
  ASSERT_TRUE(cm.ok());
  EXPECT_TRUE(cm->has_value());
}

TEST(InputLimits, Defect1NestingWithinTheLimitLoads) {
  TempDir dir;
  dir.write("nested.json", deep_json(100));
  LocalCluster cluster(dir.path(), "wva-system");
  auto r = cluster.load();
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(InputLimits, JsonNestingDepthIgnoresBracketsInStrings) {
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[{{{{\"[[[","b":[1,[2]]})", 100), 3u);
  EXPECT_EQ(json_nesting_depth(std::string(1000, '['), 10), 11u);  // stops at the limit
  EXPECT_FALSE(check_json_depth("[[1]]", InputLimits{.max_depth = 2}));
  EXPECT_TRUE(check_json_depth("[[[1]]]", InputLimits{.max_depth = 2}));
}

// --- Defect 2: "billion laughs" alias expansion in yaml_to_json -------------------------------------

TEST(InputLimits, Defect2BillionLaughsInAManifestIsRejectedNamingFileDocAndLimit) {
  TempDir dir;
  dir.write("a-plain.yaml", kConfigMap);
  // 541 bytes-ish that expand to 10^9 strings; an unrelated ConfigMap, second document of its file.
  dir.write("laughs.yaml", std::string(kConfigMap) +
                               "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n"
                               "spec:\n" +
                               billion_laughs(9, "  "));
  LocalCluster cluster(dir.path(), "wva-system");
  const auto started = std::chrono::steady_clock::now();
  auto r = cluster.load();
  ASSERT_FALSE(r.ok());
  const std::string msg = r.error().message;
  EXPECT_NE(msg.find("laughs.yaml[doc 2]: expands to more than 1000000 nodes (the limit"), std::string::npos) << msg;
  // Stopped at the limit, not after expanding: a generous bound, not a benchmark.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

TEST(InputLimits, Defect2AliasesWithinTheLimitExpand) {
  const auto j = sdk::yaml::load_json(billion_laughs(3)).value();
  ASSERT_EQ(j["l2"].size(), 10u);
  EXPECT_EQ(j["l2"][9][9][9], "x");
}

TEST(InputLimits, Defect2AliasedLongStringsAreBoundedByBytes) {
  std::string yaml = "s: &s " + std::string(1000, 'y') + "\nl: [";
  for (int i = 0; i < 200; ++i) yaml += (i ? ", *s" : "*s");
  yaml += "]\n";
  EXPECT_TRUE(sdk::yaml::load(yaml, yaml_limits(InputLimits{})).ok());
  const auto r = sdk::yaml::load(yaml, yaml_limits(InputLimits{.max_bytes = 100'000}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 100000 bytes of text (the limit"), std::string::npos)
      << r.error().message;
}

TEST(InputLimits, Defect2BillionLaughsInPluginSettingsIsAnErrorWithItsPath) {
  std::string yaml = "sources:\n  prom:\n    plugin: prometheus\n    bomb:\n" + billion_laughs(9, "      ") +
                     "analyzers:\n  saturation: {}\nsinks:\n  log: {}\n"
                     "pipelines:\n  default:\n    source: prom\n    analyzers: [saturation]\n    sinks: [log]\n";
  auto parsed = parse_pipelines_yaml(yaml, 30s, "pipelines.yaml");
  ASSERT_FALSE(parsed.errors.empty());
  bool found = false;
  for (const auto& e : parsed.errors)
    if (e.path == "sources.prom.bomb" && e.message.find("1000000 nodes (the limit") != std::string::npos) found = true;
  EXPECT_TRUE(found) << parsed.errors.front().to_string();
}

TEST(InputLimits, Defect2ManifestFileOverTheSizeLimitIsRefused) {
  TempDir dir;
  dir.write("big.yaml", std::string(kConfigMap) + "  b: \"" + std::string((16u << 20) + 10, 'z') + "\"\n");
  LocalCluster cluster(dir.path(), "wva-system");
  auto r = cluster.load();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("big.yaml: 16777"), std::string::npos) << r.error().message.substr(0, 300);
  EXPECT_NE(r.error().message.find("more than the limit of 16777216 bytes"), std::string::npos);
}

TEST(InputLimits, Defect2PipelinesYamlOverTheSizeLimitIsRefused) {
  auto parsed = parse_pipelines_yaml(std::string((16u << 20) + 1, '#'), 30s, "pipelines.yaml");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0].path, "pipelines.yaml");
  EXPECT_NE(parsed.errors[0].message.find("more than the limit of 16777216 bytes"), std::string::npos);
}

// --- Defect 7: errors without a path; control characters splitting an error ---------------------------

TEST(InputLimits, Defect7ScalarOrListConfigurationErrorHasThePath) {
  for (const char* text : {"just a string\n", "- a\n- b\n"}) {
    auto parsed = parse_pipelines_yaml(text, 30s, "ConfigMap wva/wva-pipelines key pipelines.yaml");
    ASSERT_EQ(parsed.errors.size(), 1u) << text;
    EXPECT_EQ(parsed.errors[0].path, "ConfigMap wva/wva-pipelines key pipelines.yaml") << text;
    EXPECT_NE(parsed.errors[0].message.find("must be a mapping"), std::string::npos);
  }
}

TEST(InputLimits, Defect7ControlCharactersInNamesAreEscaped) {
  auto parsed = parse_pipelines_yaml("\"bad\\nkey\\e[31m\": 1\n", 30s, "pipelines.yaml");
  ASSERT_FALSE(parsed.errors.empty());
  for (const auto& e : parsed.errors) {
    const std::string s = e.to_string();
    EXPECT_EQ(std::count_if(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }), 0) << s;
  }
  EXPECT_NE(parsed.errors[0].to_string().find("bad\\nkey\\x1b[31m"), std::string::npos) << parsed.errors[0].to_string();
}

TEST(InputLimits, Defect7ManifestErrorsAreOneLineEach) {
  TempDir dir;
  const std::string va = "apiVersion: llmd.ai/v1alpha2\nkind: VariantAutoscaling\nmetadata:\n  name: \"x\\ny\\rz\"\n";
  dir.write("a.yaml", va);
  dir.write("b.yaml", "apiVersion: v1\nkind: ConfigMap\n");
  LocalCluster cluster(dir.path(), "wva-system");
  auto r = cluster.load();
  ASSERT_FALSE(r.ok());
  const std::string msg = r.error().message;
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 1) << msg;  // two problems, two lines
  EXPECT_NE(msg.find("x\\ny\\rz"), std::string::npos) << msg;
}

TEST(InputLimits, EscapeControl) {
  EXPECT_EQ(escape_control("a\tb\nc\x01\x7f"), "a\\tb\\nc\\x01\\x7f");
  EXPECT_EQ(escape_control("plain ünïcode"), "plain ünïcode");
}

}  // namespace
}  // namespace wva::framework
