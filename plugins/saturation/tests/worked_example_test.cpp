// The worked example of docs/upstream.md section 4.5 through the whole host:
//   wva run --local plugins/saturation/tests/worked_example/<case> --once --output json
// with the emulator source (fixed per-pod metrics), the saturation analyzer and the log sink.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include "prerequisite.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct RunResult {
  int status = -1;
  std::string out;
  std::string err;
};

RunResult run_wva(const std::string& dir) {
  const fs::path err_file = fs::temp_directory_path() / ("wva-sat-e2e-" + std::to_string(::getpid()) + ".err");
  // `timeout` bounds the run; the host must finish one cycle in far less.
  const std::string cmd = "timeout 60 '" WVA_BUILD_DIR "/bin/wva' run --local '" + dir +
                          "' --once --output json --plugin-path '" WVA_PLUGIN_DIR "' 2>'" + err_file.string() + "'";
  RunResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  r.status = ::pclose(pipe);
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

void skip_unless_built() {
  for (const char* f : {WVA_BUILD_DIR "/bin/wva", WVA_PLUGIN_DIR "/libemulator.so", WVA_PLUGIN_DIR "/libsaturation.so",
                        WVA_PLUGIN_DIR "/liblog.so"})
    WVA_REQUIRE(fs::exists(f)) << f << " is not built (build every plugin: no WVA_PLUGIN_FILTER)";
}

// desired per variant, and the decision objects, from the JSON document on stdout.
std::map<std::string, json> decisions(const RunResult& r) {
  std::map<std::string, json> out;
  json doc = json::parse(r.out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("decisions")) return out;
  for (const auto& d : doc["decisions"]) out[d.value("variant", "")] = d;
  return out;
}

const std::string kDir = WVA_SOURCE_DIR "/plugins/saturation/tests/worked_example/";

TEST(SaturationWorkedExample, ScaleUpOnTheCheapestVariant) {
  skip_unless_built();
  if (IsSkipped() || HasFatalFailure()) return;
  const auto r = run_wva(kDir + "scale_up");
  ASSERT_EQ(r.status, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  const auto d = decisions(r);
  ASSERT_EQ(d.size(), 2u) << r.out;
  EXPECT_EQ(d.at("a-l4").value("desired", -1), 3);
  EXPECT_EQ(d.at("a-l4").value("current", -1), 2);
  EXPECT_EQ(d.at("b-a100").value("desired", -1), 2);
  EXPECT_EQ(d.at("a-l4").value("namespace", ""), "llm");
  EXPECT_EQ(d.at("a-l4").value("model", ""), "meta/llama-3.1-8b");
  EXPECT_EQ(d.at("a-l4").value("analyzer", ""), "saturation");
  EXPECT_EQ(d.at("a-l4").value("reason", ""),
            "KV cache spare 0.09 < trigger 0.10 on 3 non-saturated replicas; +1 on a-l4 (cheapest, cost 5.0)");
}

TEST(SaturationWorkedExample, ScaleDownOnTheMostExpensiveVariant) {
  skip_unless_built();
  if (IsSkipped() || HasFatalFailure()) return;
  const auto r = run_wva(kDir + "scale_down");
  ASSERT_EQ(r.status, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  const auto d = decisions(r);
  ASSERT_EQ(d.size(), 2u) << r.out;
  EXPECT_EQ(d.at("a-l4").value("desired", -1), 2);
  EXPECT_EQ(d.at("b-a100").value("desired", -1), 1);
  EXPECT_THAT(d.at("b-a100").value("reason", ""), ::testing::HasSubstr("-1 on b-a100 (most expensive, cost 20.0)"));
}

}  // namespace

namespace {

// Costs from accelerator-unitcost: L4 5.0 per GPU-hour x 1 GPU; A100 has no entry. Were an unknown cost
// read as 0, b-a100 would be "cheapest" and take the replica.
TEST(SaturationWorkedExample, UnitCostAndUnknownCostIsNotZero) {
  skip_unless_built();
  if (IsSkipped() || HasFatalFailure()) return;
  const auto r = run_wva(kDir + "unit_cost");
  ASSERT_EQ(r.status, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  const auto d = decisions(r);
  ASSERT_EQ(d.size(), 2u) << r.out;
  EXPECT_EQ(d.at("a-l4").value("desired", -1), 3);
  EXPECT_EQ(d.at("b-a100").value("desired", -1), 2);
  EXPECT_THAT(d.at("a-l4").value("reason", ""), ::testing::HasSubstr("+1 on a-l4 (cheapest, cost 5.0)"));
}

}  // namespace
