// Issue 14 through the real `wva` binary: inputs that crashed it or printed broken errors. Each test
// names the defect it pins; the units are in tests/framework_config/input_limits_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "subprocess.h"

namespace {

namespace fs = std::filesystem;
using wva::testing::run;

const std::string kWva = std::string(WVA_BUILD_DIR) + "/bin/wva";
const std::string kQuickstart = std::string(WVA_SOURCE_DIR) + "/examples/quickstart";

struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name) {
    path = fs::temp_directory_path() / ("wva-reliability-" + name + "-" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    for (const auto& e : fs::directory_iterator(kQuickstart)) fs::copy(e.path(), path / e.path().filename());
  }
  ~ScratchDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path / file, std::ios::binary) << text;
  }
};

std::string deep_json(std::size_t depth) {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep","namespace":"llm"},"spec":)" +
         std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string billion_laughs_configmap() {
  std::string out = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol, namespace: llm}\nspec:\n";
  out += "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    out += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) out += ", " + prev;
    out += "]\n";
  }
  return out;
}

// Defect 1: SIGSEGV (exit by signal, -1 here) on a 200,000-deep JSON manifest in validate and run.
TEST(CliReliability, Defect1DeepManifestIsAnErrorInValidateAndRun) {
  ScratchDir dir("deep");
  dir.write("40-deep.json", deep_json(200'000));
  for (const char* verb : {"validate", "run"}) {
    std::vector<std::string> argv = {kWva, verb, "--local", dir.path.string()};
    if (std::string(verb) == "run") argv.push_back("--once");
    auto r = run(argv);
    EXPECT_EQ(r.code, 1) << verb << ": " << r.err;
    EXPECT_NE(r.err.find("40-deep.json[doc 1]: nested deeper than 128 levels (the limit)"), std::string::npos)
        << verb << ": " << r.err;
  }
}

// Defect 2: a ~500-byte alias bomb in an unrelated ConfigMap exhausted memory.
TEST(CliReliability, Defect2BillionLaughsIsAnErrorNamingFileDocumentAndLimit) {
  ScratchDir dir("laughs");
  dir.write("40-laughs.yaml", billion_laughs_configmap());
  ASSERT_LT(fs::file_size(dir.path / "40-laughs.yaml"), 1000u);
  auto r = run({kWva, "validate", "--local", dir.path.string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("40-laughs.yaml[doc 1]: expands to more than 1000000 nodes (the limit"), std::string::npos)
      << r.err;
}

// Defect 7: a scalar or list pipelines.yaml gave an error without a path; a name with control characters
// was printed raw, one error over several lines.
TEST(CliReliability, Defect7RootErrorsHaveAPathAndControlCharactersAreEscaped) {
  ScratchDir dir("paths");
  const std::string file = (dir.path / "pipelines.yaml").string();
  for (const char* text : {"- a\n- b\n", "just text\n"}) {
    dir.write("pipelines.yaml", text);
    auto r = run({kWva, "validate", "--offline", "--config", file});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(file + ": the configuration must be a mapping"), std::string::npos) << r.err;
  }
  dir.write("pipelines.yaml", "\"evil\\nname\\e[2J\": {}\n");
  auto r = run({kWva, "validate", "--offline", "--config", file});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("unknown key \"evil\\nname\\x1b[2J\""), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "raw escape sequence printed";
  // Manifests: a VariantAutoscaling name with a newline stays on its error's line.
  ScratchDir local("names");
  local.write("40-va.yaml",
              "apiVersion: llmd.ai/v1alpha9\nkind: VariantAutoscaling\nmetadata: {name: \"two\\nlines\", namespace: "
              "llm}\n");
  r = run({kWva, "validate", "--local", local.path.string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("VariantAutoscaling two\\nlines must have apiVersion"), std::string::npos) << r.err;
}

}  // namespace
