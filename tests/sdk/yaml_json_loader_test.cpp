// load_all_json builds JSON straight from libyaml's events; load_all builds Node trees that to_json
// converts. Both must agree on everything: the documents' JSON, and for a refused stream the same error
// (message, document, line, column, limit or syntax, path). Checked on random streams (anchors and
// aliases as keys and values, tags, quoting styles, null and duplicate keys, flow and block collections),
// on the same streams cut and corrupted at random, under small limits, and on every YAML file of the
// repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "wva/sdk/util/yaml.h"

namespace wva::sdk::yaml {
namespace {

namespace fs = std::filesystem;

std::string describe(const std::optional<ParseError>& e) {
  if (!e) return "ok";
  std::string out = e->message + " | doc " + std::to_string(e->document) + " | " + std::to_string(e->line) + ":" +
                    std::to_string(e->column) + " | " + (e->over_limit ? "limit" : "syntax") + " |";
  for (const auto& p : e->path) out += " " + p;
  return out;
}

// Both loaders on one text: the same error, or the same documents.
void expect_same(const std::string& text, const Limits& limits = {}) {
  const Stream nodes = load_all(text, limits);
  const JsonStream json = load_all_json(text, limits);
  ASSERT_EQ(describe(json.error), describe(nodes.error)) << text;
  ASSERT_EQ(json.documents.size(), nodes.documents.size()) << text;
  for (std::size_t i = 0; i < json.documents.size(); ++i)
    ASSERT_EQ(json.documents[i], to_json(nodes.documents[i])) << "document " << i + 1 << " of:\n" << text;
}

class RandomYaml {
 public:
  explicit RandomYaml(unsigned seed) : rng_(seed) {}

  std::string stream() {
    std::string out;
    const int docs = pick(0, 3);
    for (int d = 0; d < docs; ++d) {
      anchors_.clear();
      if (d > 0 || pick(0, 1)) out += "---\n";
      out += block_mapping(0, 0);
    }
    return out;
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string scalar() {
    static const std::vector<std::string> plain = {"42",   "-7",    "+3",   "1.5",   "-2e3", "1e400", "0x1f",
                                                   "true", "False", "TRUE", "yes",   "no",   "~",     "null",
                                                   "Null", "abc",   "a b",  "1.2.3", ".inf", "007",   "1_000"};
    switch (pick(0, 6)) {
      case 0: return "\"" + plain[pick(0, int(plain.size()) - 1)] + "\"";
      case 1: return "'" + plain[pick(0, int(plain.size()) - 1)] + "'";
      case 2: return "!!int \"" + std::to_string(pick(-99, 99)) + "\"";
      case 3: return pick(0, 1) ? "!!str 42" : "!!null x";
      case 4: return pick(0, 1) ? "!!bool \"true\"" : "!!float '2.5'";
      default: return plain[pick(0, int(plain.size()) - 1)];
    }
  }

  std::string key() {
    static const std::vector<std::string> keys = {"a", "b", "name", "~", "42", "true", "\"q k\"", "'s'", "null"};
    if (!anchors_.empty() && pick(0, 9) == 0) return "*" + anchors_[pick(0, int(anchors_.size()) - 1)] + " ";
    std::string k = keys[pick(0, int(keys.size()) - 1)];
    if (pick(0, 7) == 0) k = "&" + anchor() + " " + k;
    return k;
  }

  std::string anchor() {
    std::string name = "x" + std::to_string(pick(0, 5));
    anchors_.push_back(name);
    return name;
  }

  std::string flow(int depth) {
    if (depth > 3 || pick(0, 2) == 0) return scalar();
    std::string out;
    if (pick(0, 1)) {
      out = "[";
      for (int i = 0, n = pick(0, 3); i < n; ++i) out += (i ? ", " : "") + flow(depth + 1);
      return out + "]";
    }
    out = "{";
    for (int i = 0, n = pick(0, 3); i < n; ++i) out += (i ? ", " : "") + key() + ": " + flow(depth + 1);
    return out + "}";
  }

  std::string value(int indent, int depth) {
    const int what = pick(0, 9);
    if (what == 0 && !anchors_.empty()) return " *" + anchors_[pick(0, int(anchors_.size()) - 1)] + "\n";
    std::string prefix = pick(0, 6) == 0 ? " &" + anchor() : "";
    if (depth < 4 && what <= 2) return prefix + "\n" + block_mapping(indent + 2, depth + 1);
    if (depth < 4 && what == 3) return prefix + "\n" + block_sequence(indent + 2, depth + 1);
    if (what == 4) return prefix + " |\n" + std::string(indent + 2, ' ') + "block text\n";
    if (what == 5) return prefix + "\n";  // empty: null
    return prefix + " " + flow(depth) + "\n";
  }

  std::string block_mapping(int indent, int depth) {
    std::string out;
    for (int i = 0, n = pick(1, 4); i < n; ++i) out += std::string(indent, ' ') + key() + ":" + value(indent, depth);
    return out;
  }

  std::string block_sequence(int indent, int depth) {
    std::string out;
    for (int i = 0, n = pick(1, 3); i < n; ++i) out += std::string(indent, ' ') + "-" + value(indent, depth);
    return out;
  }

  std::mt19937 rng_;
  std::vector<std::string> anchors_;
};

TEST(YamlJsonLoader, RandomStreamsGiveTheSameJsonAndErrorsAsTheNodeLoader) {
  std::mt19937 rng(6122026);
  std::size_t refused = 0;
  for (unsigned round = 0; round < 3000; ++round) {
    const std::string text = RandomYaml(round).stream();
    expect_same(text);
    // Cut, corrupted or with a character inserted: mostly syntax errors, at any place.
    std::string bad = text;
    if (!bad.empty()) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, bad.size() - 1)(rng);
      static const std::string chars = ":-[]{}&*!'\"\t \n#|>,?%@`\x01\xff";
      switch (round % 3) {
        case 0: bad.resize(at); break;
        case 1: bad[at] = chars[rng() % chars.size()]; break;
        default: bad.insert(at, 1, chars[rng() % chars.size()]); break;
      }
    }
    expect_same(bad);
    refused += load_all(bad).ok() ? 0 : 1;
    // Under small limits: the limit errors (depth, nodes, bytes, aliases expanded) at the same place.
    Limits small;
    small.max_depth = 1 + round % 4;
    small.max_nodes = 2 + round % 25;
    small.max_bytes = 4 + round % 90;
    expect_same(text, small);
  }
  EXPECT_GT(refused, 300u);  // the corrupted streams did reach the error paths
}

TEST(YamlJsonLoader, AliasesAsKeysAndValuesAndLaughs) {
  expect_same("a: &k key\n*k : 1\nb: *k\n");
  expect_same("&n ~: 1\nv: *n\n*n : 2\n");
  expect_same("a: &m {x: 1}\n*m : 2\n");  // a mapping as a key: refused by both
  expect_same("x: &a [1, 2]\ny: [*a, *a]\nz: *a\n");
  std::string laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    laughs += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ",*" + char(c - 1) + ",*" + char(c - 1) + ",*" +
              char(c - 1) + ",*" + char(c - 1) + ",*" + char(c - 1) + ",*" + char(c - 1) + ",*" + char(c - 1) + ",*" +
              char(c - 1) + "]\n";
  expect_same(laughs);
  EXPECT_FALSE(load_all_json(laughs).ok());
}

TEST(YamlJsonLoader, EveryYamlFileOfTheRepository) {
  std::size_t compared = 0;
  const fs::path root = WVA_SOURCE_DIR;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {
      if (name.rfind("build", 0) == 0 || name.front() == '.' || name == "node_modules") it.disable_recursion_pending();
      continue;
    }
    const std::string ext = it->path().extension().string();
    if (ext != ".yaml" && ext != ".yml") continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    expect_same(buf.str());
    ++compared;
  }
  EXPECT_GT(compared, 30u);
}

}  // namespace
}  // namespace wva::sdk::yaml
