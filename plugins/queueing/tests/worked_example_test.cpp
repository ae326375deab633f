// The worked example of docs/upstream.md section 6.4 through the full host:
//   wva run --local plugins/queueing/tests/worked_example --once --output json
// must give 7 replicas (about 0.82 req/s per replica at 5 req/s).
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include "prerequisite.h"

namespace {

std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  status = pclose(p);
  return out;
}

TEST(WorkedExample, FullHostGivesSevenReplicas) {
  const std::string wva = WVA_BUILD_DIR "/bin/wva";
  const std::string emulator = WVA_PLUGIN_DIR "/libemulator.so";
  WVA_REQUIRE(std::filesystem::exists(wva)) << wva << " is not built";
  WVA_REQUIRE(std::filesystem::exists(emulator)) << emulator << " is not built";
  ASSERT_TRUE(std::filesystem::exists(WVA_PLUGIN_DIR "/libqueueing.so"));
  ASSERT_TRUE(std::filesystem::exists(WVA_PLUGIN_DIR "/liblog.so"));
  const std::string cmd = "timeout 60 " + wva +
                          " run --local " WVA_SOURCE_DIR
                          "/plugins/queueing/tests/worked_example --once --output json --plugin-path " WVA_PLUGIN_DIR
                          " 2>/dev/null";
  int status = 0;
  const std::string out = run(cmd, status);
  ASSERT_EQ(status, 0) << cmd << "\n" << out;
  nlohmann::json doc;
  ASSERT_NO_THROW(doc = nlohmann::json::parse(out)) << out;
  ASSERT_TRUE(doc.contains("decisions")) << out;
  const nlohmann::json* decision = nullptr;
  for (const auto& d : doc["decisions"])
    if (d.value("variant", "") == "vllme") decision = &d;
  ASSERT_NE(decision, nullptr) << out;
  EXPECT_EQ((*decision)["desired"].get<int>(), 7) << decision->dump(2);
  EXPECT_EQ((*decision)["current"].get<int>(), 1);
  EXPECT_EQ((*decision)["analyzer"].get<std::string>(), "queueing");
  const std::string reason = (*decision)["reason"].get<std::string>();
  EXPECT_NE(reason.find("max 0.81"), std::string::npos) << reason;
}

}  // namespace
