// A test whose prerequisite (a tool, a server binary, a target that was not built) is missing skips on a
// developer's machine but FAILS in CI (CI=true): CI installs and builds everything, so a missing piece
// there is a broken setup, and a skip would hide it behind a green summary.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace wva::testing {

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

}  // namespace wva::testing

// WVA_REQUIRE(condition) << "what is missing and how to get it";
// Skips the test (outside CI) or fails it (CI=true) with the message when `condition` is false.
// Use it in a test body (it returns from the function, as GTEST_SKIP does).
#define WVA_REQUIRE(condition)                                                                \
  if (condition) {                                                                            \
  } else if (::wva::testing::running_in_ci()) GTEST_FAIL() << "prerequisite missing in CI: "; \
  else GTEST_SKIP() << "prerequisite missing: "
