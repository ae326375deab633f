// wva/sdk/util/yaml.h: the bounded YAML reader every untrusted YAML goes through. Typing, limits,
// errors with positions, the malformed documents yaml-cpp 0.7 looped on, and a differential test against
// yaml-cpp (the previous reader) on every YAML file of the repository.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "wva/sdk/util/yaml.h"

namespace wva::sdk::yaml {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Ten times more nodes per level: 10^levels strings from a ~60 + 50*levels byte document.
std::string billion_laughs(int levels) {
  std::string out = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < levels; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    out += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) out += ", " + prev;
    out += "]\n";
  }
  return out;
}

json one(const std::string& text) {
  auto r = load_json(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : json();
}

TEST(SdkYaml, ScalarsAreTypedAsKubernetesYamlTypesThem) {
  struct Case {
    const char* yaml;
    json expected;
  };
  const Case cases[] = {
      {"v: 42", 42},
      {"v: -7", -7},
      {"v: +7", 7},
      {"v: 1.5", 1.5},
      {"v: 1e3", 1000.0},
      {"v: true", true},
      {"v: False", false},
      {"v: TRUE", true},
      {"v: \"42\"", "42"},
      {"v: '3.5'", "3.5"},
      {"v: \"true\"", "true"},
      {"v: yes", "yes"},
      {"v: 5s", "5s"},
      {"v: 0x1F", "0x1F"},
      {"v: ~", nullptr},
      {"v: null", nullptr},
      {"v: NULL", nullptr},
      {"v:", nullptr},
      {"v: ''", ""},
      {"v: .inf", ".inf"},
      {"v: !!str 12", "12"},
      {"v: !!int \"12\"", 12},
      {"v: 99999999999999999999", 1e20},
      {"v: |\n  a\n  b\n", "a\nb\n"},
      {"v: >-\n  a\n  b\n", "a b"},
      {"v: [1, a, \"2\"]", json::array({1, "a", "2"})},
      {"v: {a: {b: 1}}", json{{"a", {{"b", 1}}}}},
      {"v: {\"a\": 1, \"b\": [true]}", json{{"a", 1}, {"b", {true}}}},  // JSON is YAML
  };
  for (const auto& c : cases) EXPECT_EQ(one(c.yaml)["v"], c.expected) << c.yaml;
}

TEST(SdkYaml, TreeKeepsFileOrderDuplicatesTextAndPositions) {
  auto r = load("b: 1\na: '2'\nb: 3\nlist:\n  - x\n  - ~\n");
  ASSERT_TRUE(r.ok());
  const Node& root = *r;
  ASSERT_TRUE(root.is_mapping());
  ASSERT_EQ(root.size(), 4u);
  EXPECT_EQ(root.entries()[0].first.scalar(), "b");
  EXPECT_EQ(root.entries()[2].first.scalar(), "b");  // a duplicate key stays visible to the caller
  EXPECT_EQ(root["a"].scalar(), "2");
  EXPECT_FALSE(root["a"].plain());
  EXPECT_TRUE(root["b"].plain());
  EXPECT_EQ(root["b"].scalar(), "1");  // the first entry
  EXPECT_EQ(root["list"].mark().line, 5u);
  EXPECT_EQ(root["list"].mark().column, 3u);
  EXPECT_TRUE(root["list"][1].is_null());
  EXPECT_FALSE(root["missing"].defined());
  EXPECT_FALSE(root["list"][7].defined());
  EXPECT_EQ(to_json(root)["b"], 3);  // JSON: the later duplicate wins
}

TEST(SdkYaml, StreamsHaveEveryDocument) {
  auto s = load_all("a: 1\n---\n---\nb: 2\n...\n--- c\n");
  ASSERT_TRUE(s.ok()) << s.error->to_string();
  ASSERT_EQ(s.documents.size(), 4u);
  EXPECT_EQ(to_json(s.documents[0]), json({{"a", 1}}));
  EXPECT_TRUE(s.documents[1].is_null());
  EXPECT_EQ(to_json(s.documents[3]), "c");
  EXPECT_TRUE(load_all("").documents.empty());
  EXPECT_TRUE(load_all("# only a comment\n").documents.empty());
  EXPECT_TRUE(load("").value().is_null());
}

TEST(SdkYaml, SyntaxErrorsHaveLineAndColumn) {
  auto s = load_all("a: 1\nb: [x\nc: 2\n");
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error->over_limit);
  EXPECT_EQ(s.error->document, 1u);
  EXPECT_GE(s.error->line, 2u);
  EXPECT_EQ(s.error->located("f.yaml").rfind("f.yaml:" + std::to_string(s.error->line) + ":", 0), 0u)
      << s.error->located("f.yaml");
  auto second = load_all("a: 1\n---\nb: *nope\n");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error->document, 2u);
  EXPECT_EQ(second.error->to_string(), "line 3, column 4: unknown anchor \"nope\" (an alias must follow its anchor)");
  EXPECT_FALSE(load("a: [").ok());
  // The reader's errors (encoding, control characters) have a position too.
  EXPECT_EQ(load("a: 1\nb: x\xff").error().message, "line 2, column 5: invalid leading UTF-8 octet (byte 0xff)");
  EXPECT_EQ(load(std::string("a: 1\n\0, x", 8)).error().message,
            "line 2, column 1: control characters are not allowed (byte 0x00)");
  EXPECT_FALSE(load("\t- a").ok());
}

// A list or mapping as a key has no JSON form (yaml-cpp's reader printed it as YAML text).
TEST(SdkYaml, CollectionKeysAreErrors) {
  for (const char* bad : {"? [a, b]\n: c\n", "{[a]: 1}", "a: &k {x: 1}\n? *k\n: 2\n"}) {
    auto r = load(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("a mapping key must be a scalar"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(one("? a\n: 1\n~: 2\n1: 3\n")["~"], 2);  // scalar keys, explicit or not, are their text
}

// An alias to the collection it is in would be a cycle: the anchor is defined only once it is complete.
TEST(SdkYaml, RecursiveAliasIsAnError) {
  auto r = load("a: &a [1, *a]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unknown anchor \"a\""), std::string::npos) << r.error().message;
}

TEST(SdkYaml, BillionLaughsStopsAtTheNodeLimitNamingDocumentAndPath) {
  const auto started = std::chrono::steady_clock::now();
  auto s = load_all("a: 1\n---\nspec:\n  bomb:\n" + [] {
    std::string out;
    std::istringstream lines(billion_laughs(9));
    for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
    return out;
  }());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error->over_limit);
  EXPECT_EQ(s.error->located("laughs.yaml"),
            "laughs.yaml[doc 2]: expands to more than 1000000 nodes (the limit; YAML aliases repeat what they point "
            "to)");
  ASSERT_GE(s.error->path.size(), 3u);
  EXPECT_EQ(s.error->path_string(2), "spec.bomb");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));  // generous; not a benchmark
  // Within the limit, aliases expand (and share the node they point to).
  const json small = one(billion_laughs(3));
  ASSERT_EQ(small["l2"].size(), 10u);
  EXPECT_EQ(small["l2"][9][9][9], "x");
}

TEST(SdkYaml, AliasedLongStringsAreBoundedByBytes) {
  std::string yaml = "s: &s " + std::string(1000, 'y') + "\nl: [";
  for (int i = 0; i < 200; ++i) yaml += (i ? ", *s" : "*s");
  yaml += "]\n";
  EXPECT_TRUE(load(yaml).ok());
  auto r = load(yaml, Limits{.max_bytes = 100'000});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 100000 bytes of text (the limit"), std::string::npos)
      << r.error().message;
  auto big = load(std::string(200, 'a'), Limits{.max_bytes = 100});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("the text is 200 bytes, more than the limit of 100"), std::string::npos);
}

TEST(SdkYaml, DepthIsBoundedForNestingAndForAliases) {
  auto deep = load(std::string(200'000, '[') + std::string(200'000, ']'));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, "line 1, column 129: nested deeper than 128 levels (the limit)");
  EXPECT_TRUE(load(std::string(128, '[') + std::string(128, ']')).ok());
  // Each alias is shallow, the tree it builds is not: 3 levels of 60 each.
  const std::string sixty_open(60, '['), sixty_close(60, ']');
  std::string yaml = "a: &a " + sixty_open + sixty_close + "\nb: &b " + sixty_open + "*a" + sixty_close +
                     "\nc: " + sixty_open + "*b" + sixty_close + "\n";
  auto aliased = load(yaml);
  ASSERT_FALSE(aliased.ok());
  EXPECT_NE(aliased.error().message.find("nested deeper than 128 levels"), std::string::npos)
      << aliased.error().message;
  EXPECT_TRUE(load(yaml, Limits{.max_depth = 200}).ok());
}

// yaml-cpp 0.7 looped, allocating without bound, on each of these (found by fuzz_manifest_loader); the
// text guard that refused them one form at a time is gone: libyaml reads each to an error.
TEST(SdkYaml, DocumentsYamlCppLoopedOnAreErrors) {
  for (const std::string& bad : {std::string(","),
                                 std::string("  ,b"),
                                 std::string("\n ,"),
                                 std::string("a: 1\n---\n,b"),
                                 std::string("--- ,"),
                                 std::string("--- !t ,"),
                                 std::string("&x ,"),
                                 std::string("... \n,"),
                                 std::string("# c\n%YAML 1.2\n--- ,"),
                                 std::string("--- !t ,x"),
                                 std::string("#c\n  ,!oTargetRef every"),
                                 std::string("  a:\n, x"),
                                 std::string("    spec:\n      nodeSelector:\n, every\n"),
                                 std::string("  - a\n, x"),
                                 std::string("  [a]\n, x"),
                                 std::string("  a:\n , x"),
                                 std::string("a: 1\n---\n  b:\n, c"),
                                 std::string("!t, x"),
                                 std::string("&a,x"),
                                 std::string("#c\n  !oTargetRef, every Deployment"),
                                 std::string("!a &b, x"),
                                 std::string("!t[a]\n,"),
                                 std::string("!c\xef\xbf\xbf[oT\n,"),
                                 std::string("c\n  # x:\n, y"),
                                 std::string("a: 1\n\0\0\0, x", 11),
                                 std::string("a: \x1b[31m"),
                                 std::string("#x\n  ,b c\n")}) {
    auto s = load_all(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_GT(s.error->line, 0u) << bad;
    }
  }
  for (const char* good :
       {"a: x,y", "a: |\n  ,\n", "'a,'", "", "!t [a, b]", "&a {x: 1}", "!!str a,b", "  a\n# ,\n", "a:\tb\r\nc: d\n"})
    EXPECT_TRUE(load_all(good).ok()) << good << ": " << load_all(good).error->to_string();
}

// --- Differential test: the previous reader (yaml-cpp + the host's converter) on the repository's YAML.

std::optional<json> plain_value_reference(const std::string& s) { return plain_scalar_value(s); }

json reference_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "?")
        if (auto v = plain_value_reference(s)) return *v;
      if (node.Tag() == "tag:yaml.org,2002:int" || node.Tag() == "tag:yaml.org,2002:float" ||
          node.Tag() == "tag:yaml.org,2002:bool")
        if (auto v = plain_value_reference(s)) return *v;
      return s;
    }
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(reference_to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node)
        obj[kv.first.IsScalar() ? kv.first.Scalar() : YAML::Dump(kv.first)] = reference_to_json(kv.second);
      return obj;
    }
  }
  return nullptr;
}

std::vector<fs::path> repository_yaml_files() {
  std::vector<fs::path> out;
  const fs::path root = WVA_SOURCE_DIR;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {
      // Build trees, caches, and Helm templates (Go templates, not YAML).
      if (name.rfind("build", 0) == 0 || name.front() == '.' || name == "templates" || name == "node_modules" ||
          name == "regression")
        it.disable_recursion_pending();
      continue;
    }
    const std::string ext = it->path().extension().string();
    const bool in_fuzz_corpus = it->path().string().find("tests/fuzz/corpus") != std::string::npos;
    // Fuzz seeds named regression-* are the malformed documents yaml-cpp loops on.
    if (in_fuzz_corpus && name.rfind("regression-", 0) == 0) continue;
    if (ext == ".yaml" || ext == ".yml" || (in_fuzz_corpus && ext.empty())) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SdkYaml, SameJsonAsYamlCppOnEveryValidYamlFileOfTheRepository) {
  const auto files = repository_yaml_files();
  ASSERT_GT(files.size(), 30u);
  std::size_t compared = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    auto ours = load_all(text);
    if (!ours.ok()) continue;  // not YAML (e.g. a fuzz seed of another format); yaml-cpp is not asked
    std::vector<YAML::Node> theirs;
    try {
      theirs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << file << ": libyaml accepts what yaml-cpp refused: " << e.what();
      continue;
    }
    ASSERT_EQ(ours.documents.size(), theirs.size()) << file;
    for (std::size_t i = 0; i < theirs.size(); ++i)
      EXPECT_EQ(to_json(ours.documents[i]), reference_to_json(theirs[i])) << file << " document " << i + 1;
    ++compared;
  }
  std::printf("compared %zu files of %zu with yaml-cpp\n", compared, files.size());
  EXPECT_GT(compared, 30u);
}

}  // namespace
}  // namespace wva::sdk::yaml
