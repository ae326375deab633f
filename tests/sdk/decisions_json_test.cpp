// append_decisions_json writes field by field what decisions_to_json(...).dump() writes whole: the
// same bytes for any decisions (reasons with quotes, control characters, non-ASCII and invalid UTF-8,
// unknown accelerators, held decisions) and any extra members after "decisions".
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "wva/sdk/util/json.h"

namespace {

using wva::sdk::Decision;
using Json = nlohmann::ordered_json;

std::string dump_whole(const std::vector<Decision>& decisions, const Json& extra) {
  Json doc = wva::sdk::decisions_to_json(decisions);
  if (extra.is_object())
    for (const auto& [key, value] : extra.items()) doc[key] = value;
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string random_text(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {"KV cache spare 0.30 >= trigger 0.10",
                                                  "\"quoted\"",
                                                  "back\\slash",
                                                  "tab\there",
                                                  "line\nbreak",
                                                  "\x01\x1f control",
                                                  "caf\xc3\xa9",
                                                  "\xe2\x82\xac euro",
                                                  "\xff\xfe invalid",
                                                  "\xc3 truncated",
                                                  "",
                                                  "-1 on v2"};
  std::string out;
  for (int n = std::uniform_int_distribution<int>(0, 4)(rng); n > 0; --n)
    out += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng)];
  return out;
}

Decision random_decision(std::mt19937& rng) {
  Decision d;
  d.model = {random_text(rng) + "ns", "org/" + random_text(rng)};
  d.variant = "v-" + random_text(rng);
  d.accelerator = rng() % 3 == 0 ? "" : "H100" + random_text(rng);
  d.current = std::uniform_int_distribution<int>(-1, 1000)(rng);
  d.desired = std::uniform_int_distribution<int>(0, 1000)(rng);
  d.reason = random_text(rng);
  d.analyzer = rng() % 4 == 0 ? "" : "capacity";
  d.held = rng() % 2 == 0;
  return d;
}

TEST(DecisionsJson, AppendedADecisionAtATimeEqualsTheWholeDocument) {
  std::mt19937 rng(20261206);
  for (int round = 0; round < 300; ++round) {
    std::vector<Decision> decisions(std::uniform_int_distribution<std::size_t>(0, 40)(rng));
    for (auto& d : decisions) d = random_decision(rng);
    Json extra = nullptr;
    if (round % 3 == 1) extra = Json{{"pipeline", random_text(rng)}};
    if (round % 3 == 2) extra = Json{{"pipeline", "default"}, {"idleCheck", true}};
    std::string appended = "prefix";
    wva::sdk::append_decisions_json(appended, decisions, extra);
    ASSERT_EQ(appended, "prefix" + dump_whole(decisions, extra)) << "round " << round;
    if (extra.is_null()) {
      ASSERT_EQ(wva::sdk::dump_decisions(decisions), dump_whole(decisions, extra));
    }
  }
}

TEST(DecisionsJson, InvalidUtf8IsReplacedNotThrown) {
  Decision d;
  d.model = {"ns", "m"};
  d.reason = "ok \xff bad";
  const std::string line = wva::sdk::dump_decisions(std::vector<Decision>{d});
  EXPECT_NE(line.find("ok \xef\xbf\xbd bad"), std::string::npos) << line;  // U+FFFD
  EXPECT_NE(line.find("\"accelerator\":null"), std::string::npos) << line;
  EXPECT_EQ(line.find("\"held\""), std::string::npos) << line;
}

}  // namespace
