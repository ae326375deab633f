#include <gtest/gtest.h>

#include "wva/sdk/sdk.h"

namespace wva::sdk {
namespace {

TEST(Result, HoldsValueOrError) {
  Result<int> good = 3;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  Result<int> bad = make_error(ErrorCode::kInvalidConfig, "must be > 0", "sources.x.timeout");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), "sources.x.timeout: must be > 0");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Descriptor, SameToolchainPasses) {
  auto d = this_toolchain("p", "1", WVA_KIND_ANALYZER);
  EXPECT_TRUE(check_descriptor(d).ok());
}

TEST(Descriptor, WrongMajorIsRefusedWithBothVersionsAndFix) {
  auto d = this_toolchain("p", "1", WVA_KIND_ANALYZER);
  d.abi_major = WVA_SDK_ABI_MAJOR + 1;
  auto r = check_descriptor(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAbiMismatch);
  EXPECT_NE(r.error().message.find("rebuild"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(std::to_string(WVA_SDK_ABI_MAJOR + 1)), std::string::npos);
}

TEST(Descriptor, ForeignToolchainIsRefused) {
  auto d = this_toolchain("p", "1", WVA_KIND_SINK);
  d.compiler_family = "msvc";
  auto r = check_descriptor(d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("msvc"), std::string::npos);
}

TEST(Descriptor, NoKindIsRefused) {
  auto d = this_toolchain("p", "1", 0);
  EXPECT_FALSE(check_descriptor(d).ok());
}

TEST(Types, ModelKeyOrders) {
  ModelKey a{"a", "m"}, b{"b", "a"};
  EXPECT_LT(a, b);
  EXPECT_EQ(a.to_string(), "a/m");
}

}  // namespace
}  // namespace wva::sdk
