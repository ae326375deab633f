// Reading the variant a ScaledObject names from its scalerMetadata, and the metric name.
#include <gtest/gtest.h>

#include "scaled_object.h"

namespace wva::plugins::keda {
namespace {

using Meta = std::map<std::string, std::string>;

TEST(ScaledObject, VariantAndDefaultNamespace) {
  auto r = variant_ref("llama", "llm", Meta{{"variantName", "llama-8b-h100"}, {"scalerAddress", "wva:9091"}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->variant, "llama-8b-h100");
  EXPECT_EQ(r->ns, "llm");
  EXPECT_FALSE(r->model_id.has_value());
}

TEST(ScaledObject, NamespaceAndModelFromMetadata) {
  auto r = variant_ref("so", "keda-ns",
                       Meta{{"variantName", "v1"}, {"namespace", "models"}, {"modelID", "meta/llama-3.1-8b"}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->ns, "models");
  EXPECT_EQ(r->model_id.value_or(""), "meta/llama-3.1-8b");
}

TEST(ScaledObject, MissingVariantIsAnInvalidArgumentNamingTheScaledObject) {
  auto r = variant_ref("so", "llm", Meta{{"scalerAddress", "wva:9091"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidConfig);
  EXPECT_NE(r.error().message.find("ScaledObject \"llm/so\""), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("variantName is required"), std::string::npos) << r.error().message;
}

TEST(ScaledObject, NearMissKeysAreRefused) {
  for (const auto& [key, wanted] : std::vector<std::pair<std::string, std::string>>{{"variantname", "variantName"},
                                                                                    {"varaintName", "variantName"},
                                                                                    {"namepsace", "namespace"},
                                                                                    {"modelId", "modelID"}}) {
    auto r = variant_ref("so", "llm", Meta{{"variantName", "v"}, {key, "x"}});
    if (key == "variantname") r = variant_ref("so", "llm", Meta{{key, "v"}});
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_NE(r.error().message.find("did you mean \"" + wanted + "\""), std::string::npos) << r.error().message;
  }
}

TEST(ScaledObject, KedaOwnKeysAreIgnored) {
  auto r = variant_ref("so", "llm",
                       Meta{{"variantName", "v"},
                            {"scalerAddress", "a:1"},
                            {"enableTLS", "true"},
                            {"unsafeSsl", "false"},
                            {"caCert", "x"},
                            {"tlsClientCert", "y"}});
  EXPECT_TRUE(r.ok()) << r.error().to_string();
}

TEST(ScaledObject, BadNamesAndNoNamespace) {
  for (const std::string& bad : std::vector<std::string>{"Upper", "a b", std::string(254, 'a'), "under_score"}) {
    auto r = variant_ref("so", "llm", Meta{{"variantName", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidConfig);
  }
  auto r = variant_ref("so", "", Meta{{"variantName", "v"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no namespace"), std::string::npos) << r.error().message;
  EXPECT_FALSE(variant_ref("so", "llm", Meta{{"variantName", "v"}, {"namespace", "Bad_NS"}}).ok());
}

TEST(ScaledObject, MetricName) {
  EXPECT_EQ(metric_name("llama-8b-h100"), "wva-desired-replicas-llama-8b-h100");
  EXPECT_EQ(metric_name("v1.2"), "wva-desired-replicas-v1-2");
}

}  // namespace
}  // namespace wva::plugins::keda
