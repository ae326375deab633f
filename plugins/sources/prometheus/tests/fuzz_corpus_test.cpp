// A corpus-driven fuzz run of the response parser that needs no clang: every corpus file and every
// recorded response, then a bounded number of deterministic mutations of each (byte flips, truncations,
// insertions of JSON punctuation, splices). The parser must never crash, hang or read out of bounds
// (run under -DWVA_SANITIZE=address,undefined for the memory checks); when it accepts an input the
// result must be self-consistent. The libFuzzer target (fuzz/fuzz_parser.cpp) explores further.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "response_parser.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  for (const char* dir : {PROM_FUZZ_CORPUS, PROM_TEST_DATA}) {
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_regular_file() && e.file_size() < (1u << 20)) out.push_back(testing::read_file(e.path().string()));
  }
  return out;
}

void check(const std::string& input) {
  ParseError err;
  auto r = parse_response(input, &err);
  if (!r) {
    EXPECT_FALSE(err.message.empty());
    EXPECT_LE(err.offset, input.size());
    return;
  }
  for (const auto& s : r->samples)
    for (const auto& [k, v] : s.labels) EXPECT_LE(k.size() + v.size(), input.size());
}

TEST(FuzzCorpus, SeedsAndMutationsNeverCrash) {
  auto corpus = seeds();
  ASSERT_GE(corpus.size(), 10u);
  std::mt19937 rng(20240611);  // deterministic
  const char punct[] = "{}[]\",:\\u0 -+.eE\"nNtf";
  const auto started = std::chrono::steady_clock::now();
  std::size_t runs = 0;
  for (const auto& seed : corpus) {
    check(seed);
    for (int round = 0; round < 400; ++round) {
      std::string m = seed;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !m.empty(); ++e) {
        const std::size_t pos = rng() % m.size();
        switch (rng() % 6) {
          case 0: m[pos] = static_cast<char>(rng() % 256); break;
          case 1: m.resize(pos); break;
          case 2: m.insert(pos, 1, punct[rng() % (sizeof(punct) - 1)]); break;
          case 3: m.erase(pos, 1 + rng() % 8); break;
          case 4: {
            const auto& other = corpus[rng() % corpus.size()];
            if (!other.empty()) m.insert(pos, other.substr(rng() % other.size(), 1 + rng() % 64));
            break;
          }
          default: m.insert(pos, std::string(1 + rng() % 80, rng() % 2 ? '[' : '{')); break;
        }
      }
      check(m);
      ++runs;
    }
    // Bounded in time as well as in count.
    ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
  }
  EXPECT_GE(runs, 4000u);
}

}  // namespace
}  // namespace wva::prometheus
