#include <gtest/gtest.h>

#include <random>

#include "model/model_builder.h"
#include "model/pod_names.h"
#include "reference_model_builder.h"
#include "wva/sdk/util/memory_cluster.h"

namespace wva::framework {
namespace {

using nlohmann::json;
constexpr const char* kSys = "wva-system";

json deployment(const std::string& ns, const std::string& name, json extra = json::object()) {
  json d = json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "vllm"}]}}}})");
  d["metadata"] = {{"name", name}, {"namespace", ns}};
  d["spec"]["template"]["metadata"]["labels"]["app"] = name;
  sdk::apply_merge_patch(d, extra);
  return d;
}

json va(const std::string& ns, const std::string& name, json spec, json extra = json::object()) {
  json v = {{"apiVersion", "llmd.ai/v1alpha1"},
            {"kind", "VariantAutoscaling"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", std::move(spec)}};
  sdk::apply_merge_patch(v, extra);
  return v;
}

json config_map(const std::string& name, json data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", kSys}}},
          {"data", std::move(data)}};
}

json unit_costs() {
  return config_map("accelerator-unitcost", {{"costs", "A100: 30.0\nH100: \"50\"\nL40S: 15\nL40: 10\n"}});
}

const sdk::ResourceCondition* condition_of(const ClusterModels& m, const std::string& va_name) {
  for (const auto& c : m.conditions)
    if (c.va_name == va_name) return &c;
  return nullptr;
}

void put(sdk::InMemoryCluster& c, const json& obj) { ASSERT_TRUE(c.put(obj).ok()) << obj.dump(); }

TEST(NormalizeAccelerator, Table) {
  const std::vector<std::string> keys = {"A100", "H100", "L40", "L40S", "A10", "MI300X"};
  struct Case {
    const char* product;
    const char* expected;
  };
  const Case cases[] = {
      {"A100-SXM4-80GB", "A100"},
      {"NVIDIA-A100-SXM4-80GB", "A100"},
      {"nvidia-tesla-a100", "A100"},
      {"NVIDIA-H100-80GB-HBM3", "H100"},
      {"h100", "H100"},
      {"L40S", "L40S"},
      {"NVIDIA-L40S", "L40S"},
      {"L40", "L40"},
      {"A10G", "A10G"},
      {"nvidia-l4", "nvidia-l4"},
      {"AMD-MI300X", "MI300X"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(normalize_accelerator(c.product, keys), c.expected) << c.product;
  EXPECT_EQ(normalize_accelerator("A100-SXM4-80GB", {}), "A100-SXM4-80GB");
}

TEST(ModelBuilder, ScaleTargetRefVariantWithCostFromUnitCost) {
  sdk::InMemoryCluster c(kSys);
  put(c, unit_costs());
  put(c, deployment(
             "llm", "llama-a100",
             {{"spec",
               {{"replicas", 3},
                {"template",
                 {{"spec",
                   {{"nodeSelector", {{"nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB"}}},
                    {"containers",
                     json::array({{{"name", "vllm"}, {"resources", {{"limits", {{"nvidia.com/gpu", "2"}}}}}},
                                  {{"name", "side"}, {"resources", {{"requests", {{"nvidia.com/gpu", 1}}}}}}})}}}}}}},
              {"status", {{"replicas", 3}, {"readyReplicas", 1}}}}));
  put(c, deployment("llm", "unrelated"));
  put(c, va("llm", "llama",
            {{"modelID", "meta/llama-3.1-8b"},
             {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "llama-a100"}}},
             {"minReplicas", 0},
             {"maxReplicas", "8"},
             {"scaleToZero", true}},
            {{"metadata", {{"labels", {{"tier", "gold"}}}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  const auto& m = *built;
  EXPECT_TRUE(m.warnings.empty()) << m.warnings.front();
  ASSERT_EQ(m.models.size(), 1u);
  ASSERT_EQ(m.va_labels.size(), 1u);
  EXPECT_EQ(m.va_labels[0].at("tier"), "gold");
  const auto& view = m.models[0];
  EXPECT_EQ(view.key, (sdk::ModelKey{"llm", "meta/llama-3.1-8b"}));
  EXPECT_EQ(view.va_name, "llama");
  EXPECT_TRUE(view.scale_to_zero);
  ASSERT_EQ(view.variants.size(), 1u);
  const auto& v = view.variants[0];
  EXPECT_EQ(v.name, "llama-a100");
  EXPECT_EQ(v.va_name, "llama");
  EXPECT_EQ(v.accelerator, "A100");
  EXPECT_EQ(v.gpus_per_replica, 3);  // 2 (limits) + 1 (requests of a container without limits)
  ASSERT_TRUE(v.cost_per_replica.has_value());
  EXPECT_DOUBLE_EQ(*v.cost_per_replica, 90.0);
  EXPECT_EQ(v.cost_source, "accelerator-unitcost");
  EXPECT_EQ(v.current_replicas, 3);
  EXPECT_EQ(v.ready_replicas, 1);
  EXPECT_EQ(v.pending_replicas, 2);
  EXPECT_EQ(v.min_replicas, 0);
  EXPECT_EQ(v.max_replicas, 8);
  EXPECT_FALSE(v.previous_desired.has_value());
  EXPECT_FALSE(v.profile.has_value());
  EXPECT_EQ(v.pods, (std::vector<std::string>{"llama-a100-0", "llama-a100-1", "llama-a100-2"}));
  const auto* cond = condition_of(m, "llama");
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ(cond->ns, "llm");
  EXPECT_EQ(cond->condition.type, "TargetResolved");
  EXPECT_EQ(cond->condition.status, "True");
  EXPECT_EQ(cond->condition.reason, "TargetFound");
}

TEST(ModelBuilder, MissingTargetGivesConditionAndNoVariant) {
  sdk::InMemoryCluster c(kSys);
  put(c, va("llm", "ghost", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "gone"}}}}));
  put(c, va("llm", "sts", {{"modelID", "m2"}, {"scaleTargetRef", {{"kind", "StatefulSet"}, {"name", "x"}}}}));
  put(c, va("llm", "nolabel", {{"modelID", "m3"}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  EXPECT_TRUE(built->models.empty());
  const auto* ghost = condition_of(*built, "ghost");
  ASSERT_NE(ghost, nullptr);
  EXPECT_EQ(ghost->condition.type, "TargetResolved");
  EXPECT_EQ(ghost->condition.status, "False");
  EXPECT_EQ(ghost->condition.reason, "TargetNotFound");
  EXPECT_EQ(ghost->condition.message, "Scale target Deployment gone not found");
  EXPECT_EQ(condition_of(*built, "sts")->condition.reason, "UnsupportedTargetKind");
  EXPECT_EQ(condition_of(*built, "nolabel")->condition.reason, "TargetNotFound");
  EXPECT_NE(condition_of(*built, "nolabel")->condition.message.find("llmd.ai/model=m3"), std::string::npos);
}

TEST(ModelBuilder, DiscoveryByLabelWithVariantCostAndUnknownAccelerators) {
  sdk::InMemoryCluster c(kSys);
  put(c, unit_costs());
  const json model_label = {{"metadata", {{"labels", {{"llmd.ai/model", "meta.llama-3.1-8b"}}}}}};
  auto labelled = [&](const std::string& name, json extra) {
    json d = deployment("llm", name, model_label);
    sdk::apply_merge_patch(d, extra);
    return d;
  };
  put(c, labelled(
             "v-l40s",
             {{"spec", {{"template", {{"spec", {{"nodeSelector", {{"nvidia.com/gpu.product", "NVIDIA-L40S"}}}}}}}}}}));
  put(c, labelled("v-l4", {{"metadata", {{"labels", {{"inference.optimization/acceleratorName", "L4"}}}}}}));
  put(c, labelled("v-none", json::object()));
  put(c, deployment("llm", "other-model", {{"metadata", {{"labels", {{"llmd.ai/model", "meta.llama-3.1-70b"}}}}}}));
  put(c, deployment("elsewhere", "v-x", model_label));             // another namespace
  put(c, va("llm", "llama", {{"modelId", "meta/llama-3.1-8b"}}));  // modelId spelling accepted
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->models.size(), 1u);
  const auto& vs = built->models[0].variants;
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0].name, "v-l4");
  EXPECT_EQ(vs[1].name, "v-l40s");
  EXPECT_EQ(vs[2].name, "v-none");
  EXPECT_EQ(vs[1].accelerator, "L40S");
  EXPECT_DOUBLE_EQ(vs[1].cost_per_replica.value(), 15.0);
  EXPECT_EQ(vs[0].accelerator, "L4");
  EXPECT_FALSE(vs[0].cost_per_replica.has_value());
  EXPECT_EQ(vs[0].cost_source, "no accelerator-unitcost entry for L4");
  EXPECT_EQ(vs[2].accelerator, "");
  EXPECT_FALSE(vs[2].cost_per_replica.has_value());
  EXPECT_NE(vs[2].cost_source.find("accelerator unknown"), std::string::npos);
  EXPECT_EQ(vs[0].ready_replicas, 2) << "no status: all current replicas count as ready";
  EXPECT_EQ(vs[0].pending_replicas, 0);
  EXPECT_EQ(condition_of(*built, "llama")->condition.status, "True");

  // variantCost overrides every source, as a string or a number.
  put(c, va("llm", "llama", {{"modelId", "meta/llama-3.1-8b"}, {"variantCost", "12.5"}}));
  built = build_models(c);
  for (const auto& v : built->models[0].variants) {
    EXPECT_DOUBLE_EQ(v.cost_per_replica.value(), 12.5) << v.name;
    EXPECT_EQ(v.cost_source, "variantCost");
  }
  put(c, va("llm", "llama", {{"modelId", "meta/llama-3.1-8b"}, {"variantCost", 7}}));
  EXPECT_DOUBLE_EQ(build_models(c)->models[0].variants[0].cost_per_replica.value(), 7.0);
  // A bad variantCost is a warning and falls back to the unit cost (never 0).
  put(c, va("llm", "llama", {{"modelId", "meta/llama-3.1-8b"}, {"variantCost", "cheap"}}));
  built = build_models(c);
  ASSERT_EQ(built->warnings.size(), 1u);
  EXPECT_NE(built->warnings[0].find("spec.variantCost"), std::string::npos);
  EXPECT_DOUBLE_EQ(built->models[0].variants[1].cost_per_replica.value(), 15.0);
  EXPECT_FALSE(built->models[0].variants[0].cost_per_replica.has_value());
}

TEST(ModelBuilder, NoUnitCostConfigMapMeansUnknownCost) {
  sdk::InMemoryCluster c(kSys);
  put(c, deployment("llm", "d", {{"metadata", {{"labels", {{"inference.optimization/acceleratorName", "H100"}}}}}}));
  put(c, va("llm", "va", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d"}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  const auto& v = built->models[0].variants[0];
  EXPECT_FALSE(v.cost_per_replica.has_value());
  EXPECT_NE(v.cost_source.find("no ConfigMap accelerator-unitcost"), std::string::npos) << v.cost_source;
}

TEST(ModelBuilder, BadConfigMapsBecomeWarningsNotZeros) {
  sdk::InMemoryCluster c(kSys);
  put(c, config_map("accelerator-unitcost", {{"costs", "A100: thirty\nH100: 50\nL4: -1\n"}}));
  put(c, config_map("service-classes-config",
                    {{"broken.yaml", "name: [unclosed"},
                     {"bad.yaml", "name: Bad\npriority: high\ndata: [{model: m, slo-tpot: fast, slo-ttft: 100}]"},
                     {"notalist.yaml", "name: X\ndata: 5"}}));
  put(c, deployment("llm", "d", {{"metadata", {{"labels", {{"inference.optimization/acceleratorName", "A100"}}}}}}));
  put(c, va("llm", "va", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d"}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  const auto& v = built->models[0].variants[0];
  EXPECT_FALSE(v.cost_per_replica.has_value());
  EXPECT_EQ(v.cost_source, "no accelerator-unitcost entry for A100");
  EXPECT_FALSE(built->models[0].slo.has_value());
  auto has_warning = [&](const std::string& a, const std::string& b) {
    for (const auto& w : built->warnings)
      if (w.find(a) != std::string::npos && w.find(b) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has_warning("ConfigMap wva-system/accelerator-unitcost key costs", "A100"));
  EXPECT_TRUE(has_warning("ConfigMap wva-system/accelerator-unitcost key costs", "L4"));
  // Service classes: the one parser's paths (wva/sdk/util/service_classes.h); each bad class or entry is
  // reported and skipped, a bad priority becomes 100.
  EXPECT_TRUE(has_warning("ConfigMap wva-system/service-classes-config.data[broken.yaml]: ", "line"));
  EXPECT_TRUE(has_warning("ConfigMap wva-system/service-classes-config.data[bad.yaml].priority: ", "using 100"));
  EXPECT_TRUE(has_warning("ConfigMap wva-system/service-classes-config.data[bad.yaml].data[0].slo-tpot: ", "fast"));
  EXPECT_TRUE(has_warning("ConfigMap wva-system/service-classes-config.data[notalist.yaml].data: ", "list"));
  EXPECT_EQ(built->warnings.size(), 6u);
}

TEST(ModelBuilder, ProfileParsingWithStringsAndNumbers) {
  sdk::InMemoryCluster c(kSys);
  put(c, unit_costs());
  put(c,
      deployment(
          "llm", "d",
          {{"spec", {{"template", {{"spec", {{"nodeSelector", {{"nvidia.com/gpu.product", "H100-80GB-HBM3"}}}}}}}}}}));
  const json profile = {
      {"accelerators", json::array({{{"acc", "A100"},
                                     {"accCount", 1},
                                     {"maxBatchSize", 64},
                                     {"perfParms", {{"decodeParms", {{"alpha", "1"}, {"beta", "2"}}}}}},
                                    {{"acc", "H100"},
                                     {"accCount", 4},
                                     {"maxBatchSize", "256"},
                                     {"perfParms",
                                      {{"decodeParms", {{"alpha", "6.958"}, {"beta", 0.042}}},
                                       {"prefillParms", {{"gamma", 5.2}, {"delta", "0.1"}}}}}}})}};
  put(c,
      va("llm", "va",
         {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d"}}}, {"modelProfile", profile}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  EXPECT_TRUE(built->warnings.empty()) << built->warnings.front();
  const auto& v = built->models[0].variants[0];
  EXPECT_EQ(v.accelerator, "H100");
  ASSERT_TRUE(v.profile.has_value());
  EXPECT_DOUBLE_EQ(v.profile->alpha, 6.958);
  EXPECT_DOUBLE_EQ(v.profile->beta, 0.042);
  EXPECT_DOUBLE_EQ(v.profile->gamma, 5.2);
  EXPECT_DOUBLE_EQ(v.profile->delta, 0.1);
  EXPECT_EQ(v.profile->max_batch, 256);
  EXPECT_EQ(v.gpus_per_replica, 4) << "no GPU resources: accCount of the profile";
  EXPECT_DOUBLE_EQ(v.cost_per_replica.value(), 200.0);

  // A non-numeric parameter: warning, no profile (not zeros).
  json bad = profile;
  bad["accelerators"][1]["perfParms"]["decodeParms"]["beta"] = "fast";
  put(c, va("llm", "va",
            {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d"}}}, {"modelProfile", bad}}));
  built = build_models(c);
  EXPECT_FALSE(built->models[0].variants[0].profile.has_value());
  ASSERT_EQ(built->warnings.size(), 1u);
  EXPECT_NE(built->warnings[0].find("spec.modelProfile.accelerators[1].perfParms.decodeParms.beta"), std::string::npos)
      << built->warnings[0];
}

TEST(ModelBuilder, SloLookupByPriorityRefAndGlob) {
  sdk::InMemoryCluster c(kSys);
  put(c, config_map(
             "service-classes-config",
             {{"freemium.yaml",
               "name: Freemium\npriority: 10\ndata:\n  - {model: meta/llama-3.1-8b, slo-tpot: 200, slo-ttft: 2000}\n"
               "  - {model: \"meta/*\", slo-tpot: 300, slo-ttft: 3000}\n"},
              {"premium.yaml",
               "name: Premium\npriority: 1\ndata:\n  - {model: meta/llama-3.1-8b, slo-tpot: 24, slo-ttft: 500}\n"}}));
  for (const char* name : {"a", "b", "g"}) put(c, deployment("llm", name));
  put(c,
      va("llm", "a", {{"modelID", "meta/llama-3.1-8b"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "a"}}}}));
  put(c, va("llm", "b",
            {{"modelID", "meta/llama-3.1-8b-pinned"},
             {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "b"}}},
             {"sloClassRef", {{"name", "Freemium"}, {"key", "meta/llama-3.1-8b"}}}}));
  put(c, va("llm", "g", {{"modelID", "meta/other"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "g"}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->models.size(), 3u);
  std::map<std::string, std::optional<sdk::Slo>> slo;
  for (const auto& m : built->models) slo[m.key.model_id] = m.slo;
  ASSERT_TRUE(slo["meta/llama-3.1-8b"]);
  EXPECT_EQ(slo["meta/llama-3.1-8b"]->service_class, "Premium");
  EXPECT_EQ(slo["meta/llama-3.1-8b"]->priority, 1);
  EXPECT_DOUBLE_EQ(slo["meta/llama-3.1-8b"]->itl_ms.value(), 24);
  EXPECT_DOUBLE_EQ(slo["meta/llama-3.1-8b"]->ttft_ms.value(), 500);
  ASSERT_TRUE(slo["meta/llama-3.1-8b-pinned"]);
  EXPECT_EQ(slo["meta/llama-3.1-8b-pinned"]->service_class, "Freemium");
  EXPECT_DOUBLE_EQ(slo["meta/llama-3.1-8b-pinned"]->itl_ms.value(), 200);
  ASSERT_TRUE(slo["meta/other"]);
  EXPECT_DOUBLE_EQ(slo["meta/other"]->ttft_ms.value(), 3000);
  EXPECT_FALSE(slo["meta/other"]->tps.has_value());
}

TEST(ModelBuilder, ReplicaStatesAndPreviousDesired) {
  sdk::InMemoryCluster c(kSys);
  const json label = {{"metadata", {{"labels", {{"llmd.ai/model", "m"}}}}}};
  json scaled_to_zero = deployment("ns", "a-zero", label);
  scaled_to_zero["spec"]["replicas"] = 0;
  scaled_to_zero["status"] = {{"observedGeneration", 3}};
  put(c, scaled_to_zero);
  json starting = deployment("ns", "b-starting", label);
  starting["status"] = {{"replicas", 2}};  // readyReplicas omitted = 0
  put(c, starting);
  json status_zero = deployment("ns", "c-status-zero", label);
  status_zero["status"] = {{"replicas", 0}, {"readyReplicas", 0}};  // spec says 2
  put(c, status_zero);
  put(c, va("ns", "va", {{"modelID", "m"}},
            {{"status",
              {{"variants", json::array({{{"name", "b-starting"}, {"desiredReplicas", 4}}})},
               {"desiredOptimizedAlloc", {{"accelerator", "H100"}, {"numReplicas", 6}}}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  const auto& vs = built->models[0].variants;
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0].current_replicas, 0);
  EXPECT_EQ(vs[0].ready_replicas, 0);
  EXPECT_EQ(vs[0].pending_replicas, 0);
  EXPECT_EQ(vs[1].current_replicas, 2);
  EXPECT_EQ(vs[1].ready_replicas, 0);
  EXPECT_EQ(vs[1].pending_replicas, 2);
  EXPECT_EQ(vs[2].current_replicas, 2);
  EXPECT_EQ(vs[2].ready_replicas, 0);
  EXPECT_EQ(vs[1].previous_desired, 4) << "status.variants[] entry";
  EXPECT_FALSE(vs[0].previous_desired.has_value()) << "desiredOptimizedAlloc names H100, variant has no accelerator";
  EXPECT_EQ(vs[0].pods.size(), 0u);
  EXPECT_EQ(vs[1].pods, (std::vector<std::string>{"b-starting-0", "b-starting-1"}));

  // One variant: desiredOptimizedAlloc applies whatever its accelerator.
  put(c, va("ns", "va", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "a-zero"}}}},
            {{"status", {{"desiredOptimizedAlloc", {{"accelerator", "H100"}, {"numReplicas", 6}}}}}}));
  built = build_models(c);
  EXPECT_EQ(built->models[0].variants[0].previous_desired, 6);
}

TEST(ModelBuilder, PodsByNamePrefixWithoutAnnotation) {
  sdk::InMemoryCluster c(kSys);
  put(c, deployment("ns", "llama", {{"spec", {{"replicas", 0}}}}));
  put(c, deployment("ns", "llama-h100", {{"spec", {{"replicas", 0}}}}));
  for (const char* pod : {"llama-7d9f-abcde", "llama-h100-5c6b-xyz12", "unrelated-0"})
    put(c, json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", pod}, {"namespace", "ns"}}}});
  put(c, va("ns", "v1", {{"modelID", "m1"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "llama"}}}}));
  put(c, va("ns", "v2", {{"modelID", "m2"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "llama-h100"}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->models.size(), 2u);
  EXPECT_EQ(built->models[0].variants[0].pods, (std::vector<std::string>{"llama-7d9f-abcde"}));
  EXPECT_EQ(built->models[1].variants[0].pods, (std::vector<std::string>{"llama-h100-5c6b-xyz12"}));
}

TEST(ModelBuilder, SeveralVasOfOneModelMakeOneView) {
  sdk::InMemoryCluster c(kSys);
  put(c, deployment("ns", "d1"));
  put(c, deployment("ns", "d2"));
  put(c, va("ns", "va-b", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d2"}}}}));
  put(c, va("ns", "va-a", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d1"}}}}));
  put(c, va("other", "va-a", {{"modelID", "m"}}));  // same model id, other namespace: its own model
  put(c, json{{"apiVersion", "llmd.ai/v1alpha1"},
              {"kind", "VariantAutoscaling"},
              {"metadata", {{"name", "no-model"}, {"namespace", "ns"}}},
              {"spec", json::object()}});
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->models.size(), 1u);  // "other" has no Deployment
  const auto& view = built->models[0];
  EXPECT_EQ(view.va_name, "va-a");
  ASSERT_EQ(view.variants.size(), 2u);
  EXPECT_EQ(view.variants[0].va_name, "va-a");
  EXPECT_EQ(view.variants[1].va_name, "va-b");
  ASSERT_EQ(built->warnings.size(), 1u);
  EXPECT_NE(built->warnings[0].find("ns/no-model"), std::string::npos);
}

TEST(ModelBuilder, ASecondVaFindingTheSameDeploymentsByLabelIsRefused) {
  sdk::InMemoryCluster c(kSys);
  put(c, deployment("ns", "d1", {{"metadata", {{"labels", {{"llmd.ai/model", "m"}}}}}}));
  put(c, va("ns", "va-a", {{"modelId", "m"}}));  // the FAQ's spelling
  put(c, va("ns", "va-b", {{"modelID", "m"}}));
  put(c, va("ns", "va-c", {{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d1"}}}}));
  auto built = build_models(c);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->models.size(), 1u);
  EXPECT_EQ(built->models[0].va_name, "va-a");
  ASSERT_EQ(built->models[0].variants.size(), 1u);
  std::map<std::string, sdk::ResourceCondition> by_va;
  for (const auto& rc : built->conditions) by_va[rc.va_name] = rc;
  ASSERT_EQ(by_va.count("va-b"), 1u);
  EXPECT_EQ(by_va["va-b"].condition.status, "False");
  EXPECT_EQ(by_va["va-b"].condition.reason, "DuplicateModel");
  EXPECT_NE(by_va["va-b"].condition.message.find("already has VariantAutoscaling va-a"), std::string::npos);
  EXPECT_EQ(by_va["va-c"].condition.reason, "DuplicateModel");
  EXPECT_EQ(by_va["va-a"].condition.status, "True");
}

TEST(ModelBuilder, ClusterErrorsAreErrors) {
  sdk::InMemoryCluster c(kSys);
  c.fail_next("list", sdk::make_error(sdk::ErrorCode::kUnavailable, "api down"));
  auto built = build_models(c);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_NE(built.error().message.find("api down"), std::string::npos);
}

// ------------------------------------------------------------------------------- HPA bounds

json hpa(const std::string& name, json spec, json metadata = json::object()) {
  json h = {{"apiVersion", "autoscaling/v2"},
            {"kind", "HorizontalPodAutoscaler"},
            {"metadata", {{"name", name}, {"namespace", "llm"}}},
            {"spec", std::move(spec)},
            {"status", {{"currentReplicas", 3}, {"desiredReplicas", 4}}}};
  sdk::apply_merge_patch(h["metadata"], metadata);
  return h;
}

json target(const char* deployment, const char* kind = "Deployment") {
  return {{"apiVersion", "apps/v1"}, {"kind", kind}, {"name", deployment}};
}

// A variant's bounds are the VA's within the HPA's that scales its Deployment (what HPA and KEDA clamp
// every recommendation to); the HPA's side holds where they do not overlap. Table-driven: VA bounds,
// the HPAs in the namespace, the bounds the variant gets and the warnings (substrings, in order).
TEST(ModelBuilder, VariantBoundsAreTheVasWithinTheHpas) {
  struct Case {
    const char* name;
    json va_spec;  // merged into the VA's spec
    std::vector<json> hpas;
    int min;
    std::optional<int> max;
    std::vector<std::string> warnings;
    bool hpa_bounded = false;  // the HPA narrows the VA's bounds
  };
  const std::vector<Case> cases = {
      {"no HPA: the VA's", {{"minReplicas", 0}, {"maxReplicas", 32}}, {}, 0, 32, {}},
      {"HPA max below the VA's",
       {{"maxReplicas", 32}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"maxReplicas", 12}})},
       1,
       12,
       {},
       true},
      {"HPA max, VA unbounded",
       json::object(),
       {hpa("h", {{"scaleTargetRef", target("d")}, {"maxReplicas", 12}})},
       1,
       12,
       {},
       true},
      {"HPA min above the VA's",
       {{"minReplicas", 0}, {"maxReplicas", 32}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"minReplicas", 2}, {"maxReplicas", 40}})},
       2,
       32,
       {},
       true},
      {"HPA min defaults to 1",
       {{"minReplicas", 0}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"maxReplicas", 5}})},
       1,
       5,
       {},
       true},
      {"HPA min 0 keeps the VA's 0",
       {{"minReplicas", 0}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"minReplicas", 0}, {"maxReplicas", 5}})},
       0,
       5,
       {},
       true},
      {"KEDA's HPA: its minimum is no floor",
       {{"minReplicas", 0}},
       {hpa("keda-hpa-so", {{"scaleTargetRef", target("d")}, {"minReplicas", 1}, {"maxReplicas", 6}},
            {{"ownerReferences", {{{"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ScaledObject"}, {"name", "so"}}}}})},
       0,
       6,
       {},
       true},
      {"a KEDA label without a ScaledObject owner: the minimum holds",
       {{"minReplicas", 0}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"minReplicas", 1}, {"maxReplicas", 6}},
            {{"labels", {{"scaledobject.keda.sh/name", "so"}}}})},
       1,
       6,
       {},
       true},
      {"an HPA of another Deployment",
       {{"maxReplicas", 9}},
       {hpa("h", {{"scaleTargetRef", target("other")}, {"maxReplicas", 2}})},
       1,
       9,
       {}},
      {"an HPA of a StatefulSet named alike",
       {{"maxReplicas", 9}},
       {hpa("h", {{"scaleTargetRef", target("d", "StatefulSet")}, {"maxReplicas", 2}})},
       1,
       9,
       {}},
      {"VA floor above the HPA's maximum",
       {{"minReplicas", 5}, {"maxReplicas", 8}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"maxReplicas", 3}})},
       3,
       3,
       {"VariantAutoscaling llm/v, Deployment d: replicas [5, 8] of the VariantAutoscaling and [1, 3] of "
        "HorizontalPodAutoscaler llm/h do not overlap; the HPA scales within its own bounds, so 3 is used"},
       true},
      {"VA ceiling below the HPA's minimum",
       {{"minReplicas", 0}, {"maxReplicas", 2}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"minReplicas", 4}, {"maxReplicas", 10}})},
       4,
       4,
       {"[0, 2] of the VariantAutoscaling and [4, 10] of HorizontalPodAutoscaler llm/h do not overlap; the HPA "
        "scales within its own bounds, so 4 is used"},
       true},
      {"invalid HPA fields are warnings, never 0",
       {{"minReplicas", 0}, {"maxReplicas", 7}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"minReplicas", "x"}, {"maxReplicas", 0}})},
       0,
       7,
       {"HorizontalPodAutoscaler llm/h: spec.maxReplicas: 0 is not a positive integer; ignored",
        "HorizontalPodAutoscaler llm/h: spec.minReplicas: \"x\" is not a non-negative integer; ignored"}},
      {"HPA min above its max",
       {{"minReplicas", 0}},
       {hpa("h", {{"scaleTargetRef", target("d")}, {"minReplicas", 9}, {"maxReplicas", 4}})},
       0,
       4,
       {"HorizontalPodAutoscaler llm/h: spec.minReplicas 9 > maxReplicas 4; minReplicas ignored"},
       true},
      {"two HPAs on one Deployment: the first by name, with a warning",
       json::object(),
       {hpa("b", {{"scaleTargetRef", target("d")}, {"maxReplicas", 3}}),
        hpa("a", {{"scaleTargetRef", target("d")}, {"maxReplicas", 6}})},
       1,
       6,
       {"Deployment llm/d is the target of several HorizontalPodAutoscalers (a, b): Kubernetes scales it with none "
        "of them (condition AmbiguousSelector); the bounds of a are used"},
       true},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    sdk::InMemoryCluster c(kSys);
    put(c, deployment("llm", "d"));
    json spec = {{"modelID", "m/x"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d"}}}};
    spec.update(tc.va_spec);
    put(c, va("llm", "v", spec));
    for (const auto& h : tc.hpas) put(c, h);
    auto built = build_models(c);
    ASSERT_TRUE(built.ok()) << built.error().to_string();
    ASSERT_EQ(built->models.size(), 1u);
    const auto& v = built->models[0].variants.at(0);
    EXPECT_EQ(v.min_replicas, tc.min);
    EXPECT_EQ(v.max_replicas, tc.max);
    EXPECT_EQ(v.hpa_bounded, tc.hpa_bounded);
    ASSERT_EQ(built->warnings.size(), tc.warnings.size()) << (built->warnings.empty() ? "" : built->warnings[0]);
    for (std::size_t i = 0; i < tc.warnings.size(); ++i)
      EXPECT_NE(built->warnings[i].find(tc.warnings[i]), std::string::npos) << built->warnings[i];
  }
}

// An HPA that comes, changes its target or bounds, or goes, changes the bounds of the variants it scaled
// and scales (incrementally, exactly as a full build).
TEST(ModelViews, HpaChangesMoveTheBoundsOfTheVariantsTheyScale) {
  sdk::InMemoryCluster c(kSys);
  ViewBackend backend(c);
  put(c, deployment("llm", "d1"));
  put(c, deployment("llm", "d2"));
  put(c, va("llm", "v1", {{"modelID", "m/x"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d1"}}}}));
  put(c, va("llm", "v2", {{"modelID", "m/y"}, {"scaleTargetRef", {{"kind", "Deployment"}, {"name", "d2"}}}}));
  ModelViews views;
  ASSERT_TRUE(views.rebuild(backend).ok());
  auto max_of = [&](std::size_t model) { return views.models().models.at(model).variants.at(0).max_replicas; };
  EXPECT_EQ(max_of(0), std::nullopt);
  const std::vector<ObjectRef> changed = {{"HorizontalPodAutoscaler", "llm", "h"}};
  put(c, hpa("h", {{"scaleTargetRef", target("d1")}, {"maxReplicas", 4}}));
  ASSERT_TRUE(views.update(backend, changed).ok());
  EXPECT_EQ(max_of(0), 4);
  EXPECT_EQ(max_of(1), std::nullopt);
  put(c, hpa("h", {{"scaleTargetRef", target("d2")}, {"maxReplicas", 5}}));  // moved to d2
  ASSERT_TRUE(views.update(backend, changed).ok());
  EXPECT_EQ(max_of(0), std::nullopt);
  EXPECT_EQ(max_of(1), 5);
  // A status change alone changes nothing the views read.
  json again = hpa("h", {{"scaleTargetRef", target("d2")}, {"maxReplicas", 5}});
  again["status"]["currentReplicas"] = 5;
  put(c, again);
  ASSERT_TRUE(views.update(backend, changed).ok());
  EXPECT_EQ(max_of(1), 5);
  c.remove("HorizontalPodAutoscaler", "llm", "h");
  ASSERT_TRUE(views.update(backend, changed).ok());
  EXPECT_EQ(max_of(1), std::nullopt);
  auto full = build_models(c);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->models.at(1).variants.at(0).max_replicas, std::nullopt);
}

// ------------------------------------------------------------------------------- incremental updates

// The whole of ClusterModels as JSON, so two can be compared field by field (and a difference shown).
// Any ClusterModels (the current builder's, or the reference's) as comparable JSON.
template <typename Models>
json dump(const Models& m) {
  auto opt = [](const auto& v) { return v ? json(*v) : json(); };
  json out = json::object();
  for (std::size_t i = 0; i < m.models.size(); ++i) {
    const auto& mv = m.models[i];
    json jm = {{"key", mv.key.to_string()}, {"va", mv.va_name}, {"stz", mv.scale_to_zero}};
    if (mv.slo)
      jm["slo"] = {mv.slo->service_class, mv.slo->priority, opt(mv.slo->ttft_ms), opt(mv.slo->itl_ms),
                   opt(mv.slo->tps)};
    for (const auto& v : mv.variants) {
      json jv = {v.name,         v.va_name,           v.accelerator,    v.gpus_per_replica,   opt(v.cost_per_replica),
                 v.cost_source,  v.current_replicas,  v.ready_replicas, v.pending_replicas,   opt(v.previous_desired),
                 v.min_replicas, opt(v.max_replicas), v.pods,           v.profile.has_value()};
      if (v.profile) jv.push_back({v.profile->alpha, v.profile->beta, v.profile->max_batch});
      jm["variants"].push_back(std::move(jv));
    }
    jm["labels"] = i < m.va_labels.size() ? json(m.va_labels[i]) : json("missing");
    out["models"].push_back(std::move(jm));
  }
  for (const auto& c : m.conditions)
    out["conditions"].push_back(
        {c.ns, c.va_name, c.condition.type, c.condition.status, c.condition.reason, c.condition.message});
  out["warnings"] = m.warnings;
  out["label_count"] = m.va_labels.size();
  return out;
}

// Random changes to a small cluster (two namespaces, names chosen to collide: model IDs whose labels are
// equal, Deployment names that prefix pod names, VAs naming missing or wrong-kind targets, stored pods
// with and without the owner annotation (never named like a synthesized pod, <deployment>-<number>, which
// would make two pods of one name), ConfigMaps); after each step the incrementally updated views
// must equal a full build. The changed objects are reported as a backend would: each object written,
// and the synthesized pods a Deployment's replica count adds or removes.
class RandomCluster {
 public:
  // varied: Deployments also vary in what the model views read of them (labels in metadata or the pod
  // template, empty or not strings; node selectors; GPU limits and requests; statuses; selectors).
  // hpas: HorizontalPodAutoscalers come, go and change their target and bounds too.
  explicit RandomCluster(unsigned seed, bool varied = false, bool hpas = false)
      : rng_(seed), cluster_(kSys), varied_(varied), hpas_(hpas) {}

  sdk::InMemoryCluster& cluster() { return cluster_; }

  std::vector<ObjectRef> step() {
    std::vector<ObjectRef> changed;
    const int op = pick(hpas_ ? 115 : 100);
    const std::string ns = pick(3) ? "a" : "b";
    if (op >= 100) {
      const std::string name = "hpa" + std::to_string(pick(4));
      if (pick(5) == 0) cluster_.remove("HorizontalPodAutoscaler", ns, name);
      else note(cluster_.put(random_hpa(ns, name)));
      changed.push_back({"HorizontalPodAutoscaler", ns, name});
    } else if (op < 25) {
      const std::string name = "va" + std::to_string(pick(6));
      if (pick(5) == 0) {
        cluster_.remove("VariantAutoscaling", ns, name);
      } else {
        note(cluster_.put(random_va(ns, name)));
      }
      changed.push_back({"VariantAutoscaling", ns, name});
    } else if (op < 55) {
      const std::string name = kDeployments[pick(std::size(kDeployments))];
      const long long before = pods_of(ns, name);
      if (pick(6) == 0) cluster_.remove("Deployment", ns, name);
      else note(cluster_.put(random_deployment(ns, name)));
      const long long after = pods_of(ns, name);
      changed.push_back({"Deployment", ns, name});
      for (long long i = std::min(before, after); i < std::max(before, after); ++i)
        changed.push_back({"Pod", ns, name + "-" + std::to_string(i)});
    } else if (op < 85) {
      const std::string name = kPods[pick(std::size(kPods))];
      if (pick(4) == 0) cluster_.remove("Pod", ns, name);
      else note(cluster_.put(random_pod(ns, name)));
      changed.push_back({"Pod", ns, name});
    } else if (op < 95) {
      const bool costs = pick(2);
      const std::string name = costs ? "accelerator-unitcost" : "service-classes-config";
      if (pick(4) == 0) cluster_.remove("ConfigMap", kSys, name);
      else if (costs) note(cluster_.put(config_map(name, {{"costs", pick(2) ? "H100: 50\nA100: 30\n" : "H100: x\n"}})));
      else
        note(cluster_.put(
            config_map(name, {{"premium.yaml", "name: Premium\npriority: " + std::to_string(pick(3)) +
                                                   "\ndata:\n  - {model: m/x, slo-tpot: 20, slo-ttft: 500}\n"}})));
      changed.push_back({"ConfigMap", kSys, name});
    } else {
      // A change of something the views do not read.
      note(cluster_.put(config_map("other", {{"k", std::to_string(pick(9))}})));
      changed.push_back({"ConfigMap", kSys, "other"});
    }
    return changed;
  }

  std::vector<std::string> put_errors;

 private:
  static constexpr const char* kDeployments[] = {"llama", "llama-h100", "llama-h100-5c", "mistral", "d"};
  static constexpr const char* kPods[] = {"llama-7d-x",   "llama-h100-5c-y", "llama-h100-5c-9f-z",
                                          "mistral-5c-q", "d-7f-z",          "other-1"};
  static constexpr const char* kModels[] = {"m/x", "m.x", "m/y", "z"};

  void note(const sdk::Result<void>& r) {
    if (!r.ok()) put_errors.push_back(r.error().message);
  }
  int pick(std::size_t n) { return static_cast<int>(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_)); }
  long long pods_of(const std::string& ns, const std::string& name) {
    auto d = cluster_.get_shared("Deployment", ns, name);
    return d.ok() && *d ? sdk::InMemoryCluster::synthesized_pod_count(**d) : 0;
  }
  std::string label_value() { return pick(2) ? "m.x" : (pick(2) ? "m.y" : "z"); }

  json random_va(const std::string& ns, const std::string& name) {
    json spec = json::object();
    const int model = pick(6);
    if (model < 4) spec[pick(4) ? "modelID" : "modelId"] = kModels[model];
    if (pick(2))
      spec["scaleTargetRef"] = {{"kind", pick(8) ? "Deployment" : "StatefulSet"},
                                {"name", kDeployments[pick(std::size(kDeployments))]}};
    if (pick(3) == 0) spec["minReplicas"] = pick(4) ? json(pick(3)) : json("x");
    if (hpas_ && pick(3) == 0) spec["maxReplicas"] = pick(4) ? json(1 + pick(4)) : json(0);
    if (pick(3) == 0) spec["variantCost"] = pick(3) ? json(pick(20)) : json(-1);
    if (pick(4) == 0) spec["scaleToZero"] = true;
    if (pick(3) == 0)
      spec["modelProfile"]["accelerators"] = json::array(
          {{{"acc", "H100"},
            {"accCount", 2},
            {"maxBatchSize", 8},
            {"perfParms",
             {{"decodeParms", {{"alpha", 1}, {"beta", 2}}}, {"prefillParms", {{"gamma", 3}, {"delta", 0}}}}}}});
    json extra = json::object();
    if (pick(4) == 0) extra["metadata"]["labels"] = {{kAcceleratorLabel, pick(2) ? "H100" : "A100"}, {"team", "t"}};
    if (pick(10) == 0) extra["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
    if (pick(3) == 0) extra["status"]["desiredOptimizedAlloc"] = {{"accelerator", "H100"}, {"numReplicas", pick(5)}};
    return va(ns, name, std::move(spec), std::move(extra));
  }

  json random_hpa(const std::string& ns, const std::string& name) {
    json spec = json::object();
    if (pick(8))
      spec["scaleTargetRef"] = {{"apiVersion", pick(6) ? "apps/v1" : "batch/v1"},
                                {"kind", pick(8) ? "Deployment" : "StatefulSet"},
                                {"name", kDeployments[pick(std::size(kDeployments))]}};
    if (pick(2)) spec["minReplicas"] = pick(5) ? json(pick(4)) : some_value();
    if (pick(6)) spec["maxReplicas"] = pick(5) ? json(1 + pick(5)) : some_value();
    json h = {{"apiVersion", "autoscaling/v2"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec", std::move(spec)}};
    if (pick(5) == 0)
      h["metadata"]["ownerReferences"] = {
          {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ScaledObject"}, {"name", "so"}}};
    if (pick(3) == 0) h["status"] = {{"currentReplicas", pick(4)}};
    return h;
  }

  json random_deployment(const std::string& ns, const std::string& name) {
    json extra = json::object();
    extra["spec"]["replicas"] = pick(4);
    if (pick(3)) extra["metadata"]["labels"]["llmd.ai/model"] = label_value();
    if (pick(3) == 0) extra["spec"]["template"]["metadata"]["labels"]["llmd.ai/model"] = label_value();
    if (pick(2)) extra["spec"]["selector"]["matchLabels"]["app"] = pick(4) ? name : "nope";
    if (pick(2))
      extra["spec"]["template"]["spec"]["nodeSelector"]["nvidia.com/gpu.product"] =
          pick(2) ? "NVIDIA-H100-80GB-HBM3" : "A100";
    if (pick(2)) extra["status"] = {{"replicas", pick(4)}, {"readyReplicas", pick(4)}};
    if (varied_) vary_deployment(name, extra);
    return deployment(ns, name, std::move(extra));
  }

  json some_value() {
    switch (pick(6)) {
      case 0: return json(pick(3));
      case 1: return json(std::to_string(pick(3)));
      case 2: return json("x");
      case 3: return json(-1);
      case 4: return json(1.5);
      default: return json(nullptr);
    }
  }

  void vary_deployment(const std::string& name, json& extra) {
    auto& tmpl = extra["spec"]["template"];
    for (const char* label : {"llmd.ai/model", kAcceleratorLabel}) {
      if (pick(4) == 0) extra["metadata"]["labels"][label] = pick(3) ? json(pick(2) ? "" : "H100") : json(7);
      if (pick(4) == 0) tmpl["metadata"]["labels"][label] = pick(3) ? json(label_value()) : json(true);
    }
    if (pick(3) == 0) {
      auto& sel = tmpl["spec"]["nodeSelector"];
      if (pick(2)) sel["nvidia.com/gpu.product"] = pick(2) ? "" : "NVIDIA-A100-SXM4-80GB";
      if (pick(2)) sel["cloud.google.com/gke-accelerator"] = pick(2) ? "nvidia-l4" : "L40S";
    }
    if (pick(2)) {
      json containers = json::array();
      for (int c = pick(3); c >= 0; --c) {
        json container = {{"name", "c" + std::to_string(c)}};
        for (const char* section : {"limits", "requests"})
          if (pick(2))
            for (const char* gpu : {"nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu"})
              if (pick(3) == 0) container["resources"][section][gpu] = some_value();
        containers.push_back(std::move(container));
      }
      tmpl["spec"]["containers"] = std::move(containers);
    }
    if (pick(4) == 0) extra["spec"]["replicas"] = some_value();
    if (pick(3) == 0) {
      json status = json::object();
      if (pick(2)) status["replicas"] = some_value();
      if (pick(2)) status["readyReplicas"] = some_value();
      if (pick(3) == 0) status["observedGeneration"] = 1;
      extra["status"] = status.empty() ? json(nullptr) : status;  // null: a merge patch removes it
    }
    if (pick(4) == 0) extra["spec"]["selector"]["matchLabels"]["tier"] = pick(2) ? json("x") : json(1);
    if (pick(8) == 0) extra["spec"]["selector"]["matchLabels"]["app"] = name;
  }

  json random_pod(const std::string& ns, const std::string& name) {
    json p = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
    const std::string app = kDeployments[pick(std::size(kDeployments))];
    p["metadata"]["labels"]["app"] = pick(4) ? app : "x";
    if (pick(3) == 0)
      p["metadata"]["annotations"][sdk::kPodDeploymentAnnotation] = kDeployments[pick(std::size(kDeployments))];
    p["status"]["phase"] = pick(2) ? "Running" : "Pending";
    return p;
  }

  std::mt19937 rng_;
  sdk::InMemoryCluster cluster_;
  bool varied_ = false;
  bool hpas_ = false;
};

TEST(ModelViews, RandomChangesGiveTheSameViewsAsAFullBuild) {
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    RandomCluster random(seed, /*varied=*/false, /*hpas=*/true);
    ViewBackend backend(random.cluster());
    ModelViews views;
    ASSERT_TRUE(views.rebuild(backend).ok());
    std::size_t partial = 0, hpa_warnings = 0;
    for (int step = 0; step < 300; ++step) {
      const auto changed = random.step();
      ASSERT_TRUE(views.update(backend, changed).ok());
      if (views.last_built() < views.models().models.size()) ++partial;
      auto full = build_models(random.cluster());
      ASSERT_TRUE(full.ok());
      for (const auto& w : full->warnings) hpa_warnings += w.find("HorizontalPodAutoscaler") != std::string::npos;
      const json want = dump(*full), got = dump(views.models());
      ASSERT_EQ(got, want) << "seed " << seed << " step " << step << " changed " << changed.size() << " objects, first "
                           << changed[0].kind << " " << changed[0].ns << "/" << changed[0].name
                           << "\nfull:        " << want.dump() << "\nincremental: " << got.dump();
    }
    EXPECT_TRUE(random.put_errors.empty()) << random.put_errors[0];
    // Most steps rebuilt only some models (a ConfigMap of costs or classes rebuilds all).
    EXPECT_GT(partial, 0u) << "seed " << seed;
    EXPECT_GT(hpa_warnings, 0u) << "seed " << seed << ": no HPA ever bounded a variant";
  }
}

// A cluster view that hands out a fresh copy of each VariantAutoscaling on every call, with parts the views
// never read added (as a backend that unpacks its objects per call would, e.g. the local folder's store):
// the views then keep only what they read of each VA (read_parts in model_builder.cpp).
class UnsharedVas final : public sdk::ClusterView {
 public:
  explicit UnsharedVas(sdk::ClusterView& inner) : inner_(inner) {}
  std::string system_namespace() const override { return inner_.system_namespace(); }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) override {
    auto got = inner_.list_shared(kind, ns);
    if (!got.ok() || kind != "VariantAutoscaling") return got;
    for (auto& va : *got) va = unshared(va);
    return got;
  }
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns,
                                              const std::string& name) override {
    auto got = inner_.get_shared(kind, ns, name);
    if (!got.ok() || kind != "VariantAutoscaling") return got;
    return unshared(*got);
  }
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const json& merge_patch) override {
    return inner_.patch_status(kind, ns, name, merge_patch);
  }
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override {
    return inner_.scale(ns, deployment, replicas);
  }

 private:
  static sdk::ObjectSnapshot unshared(const sdk::ObjectSnapshot& va) {
    if (!va) return va;
    json copy = *va;
    if (copy["metadata"].is_object()) {
      copy["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = va->dump();
      copy["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
      copy["metadata"]["uid"] = "0000";
    }
    if (copy["status"].is_null() || copy["status"].is_object())
      copy["status"]["conditions"] = json::array({{{"type", "TargetResolved"}, {"status", "True"}}});
    return std::make_shared<const json>(std::move(copy));
  }
  sdk::ClusterView& inner_;
};

TEST(ModelViews, VasOnlyTheViewsHoldKeepWhatTheViewsReadAndGiveTheSameViews) {
  for (unsigned seed : {21u, 22u, 23u}) {
    RandomCluster random(seed, /*varied=*/false, /*hpas=*/true);
    UnsharedVas unshared(random.cluster());
    ViewBackend backend(unshared);
    ModelViews views;
    ASSERT_TRUE(views.rebuild(backend).ok());
    for (int step = 0; step < 150; ++step) {
      const auto changed = random.step();
      ASSERT_TRUE(views.update(backend, changed).ok());
      auto full = build_models(random.cluster());
      ASSERT_TRUE(full.ok());
      ASSERT_EQ(dump(views.models()), dump(*full)) << "seed " << seed << " step " << step;
    }
  }
}

// The packed pod names against std::set over random inserts and erases, names of every length class
// (up to three length bytes) and with bytes a separator would have broken on.
TEST(PodNames, BehavesAsASortedSetOfNames) {
  std::mt19937 rng(7);
  std::vector<std::string> names = {"",
                                    "a",
                                    "a-0",
                                    "a-1",
                                    "a-10",
                                    "b",
                                    std::string(1, '\0'),
                                    "x\ny",
                                    std::string(127, 'p'),
                                    std::string(128, 'p'),
                                    std::string(300, 'q'),
                                    std::string(20000, 'r')};
  for (int i = 0; i < 40; ++i) names.push_back("pod-" + std::to_string(rng() % 1000));
  for (int round = 0; round < 20; ++round) {
    std::set<std::string> want;
    PodNames got;
    for (int op = 0; op < 200; ++op) {
      const std::string& name = names[rng() % names.size()];
      if (rng() % 3) {
        ASSERT_EQ(got.insert(name), want.insert(name).second);
      } else {
        ASSERT_EQ(got.erase(name), want.erase(name) > 0);
      }
      ASSERT_EQ(got.empty(), want.empty());
      ASSERT_EQ(got.to_vector(), std::vector<std::string>(want.begin(), want.end())) << "round " << round;
      const std::string& probe = names[rng() % names.size()];
      ASSERT_EQ(got.contains(probe), want.count(probe) > 0);
    }
    const std::vector<std::string> sorted(want.begin(), want.end());
    ASSERT_EQ(PodNames(sorted).to_vector(), sorted);
  }
}

// A cycle borrows the cached views (ModelViews::lend) and writes its metrics and previous_desired into
// them. An update while it holds them changes a copy and leaves the borrowed views as they were; an
// update after it gave them back changes them in place. Either way the views equal a full build once each
// variant's previous_desired is read from status_desired(), as the host does.
TEST(ModelViews, LentViewsAreNeverChangedUnderTheBorrowerAndUpdateLikeAFullBuild) {
  for (unsigned seed : {11u, 12u, 13u}) {
    RandomCluster random(seed, /*varied=*/false, /*hpas=*/true);
    ViewBackend backend(random.cluster());
    ModelViews views;
    ASSERT_TRUE(views.rebuild(backend).ok());
    std::size_t copied = 0, in_place = 0;
    for (int step = 0; step < 200; ++step) {
      ASSERT_TRUE(views.lendable());
      std::shared_ptr<std::vector<sdk::ModelView>> lent = views.lend();
      ASSERT_EQ(lent.get(), &views.models().models);
      for (auto& m : *lent) {  // what a cycle writes
        m.metrics.state = sdk::MetricsState::kOk;
        m.metrics.replicas.resize(2);
        for (auto& v : m.variants) v.previous_desired = 1000 + step;
      }
      ClusterModels borrowed;
      borrowed.models = *lent;
      const json before = dump(borrowed);
      const bool keep = step % 2 == 0;  // half the steps: the cycle still runs during the update
      if (!keep) lent.reset();
      const auto changed = random.step();
      ASSERT_TRUE(views.update(backend, changed).ok());
      if (keep) {
        ClusterModels after;
        after.models = *lent;
        ASSERT_EQ(dump(after), before) << "seed " << seed << " step " << step << ": the borrowed views changed";
        for (const auto& m : *lent) ASSERT_EQ(m.metrics.replicas.size(), 2u);
        (&views.models().models == lent.get() ? in_place : copied) += views.last_built() > 0;
        lent.reset();
      }
      ClusterModels got = views.models();
      for (std::size_t i = 0; i < got.models.size(); ++i) {
        const auto& status = views.status_desired(i);
        ASSERT_EQ(status.size(), got.models[i].variants.size());
        for (std::size_t v = 0; v < status.size(); ++v) got.models[i].variants[v].previous_desired = status[v];
      }
      auto full = build_models(random.cluster());
      ASSERT_TRUE(full.ok());
      ASSERT_EQ(dump(got), dump(*full)) << "seed " << seed << " step " << step;
    }
    EXPECT_GT(copied, 0u) << "seed " << seed << ": no update ran while the views were lent";
    EXPECT_EQ(in_place, 0u) << "seed " << seed << ": an update changed views a borrower held";
  }
}

// The same with model discovery on: VAs without a label find Deployments through the pods that serve
// their model by their metrics, and pods and Deployments change under them.
TEST(ModelViews, RandomChangesWithDiscoveredPodsGiveTheSameViewsAsAFullBuild) {
  std::vector<sdk::PodModel> discovered;
  for (const char* ns : {"a", "b"})
    for (const char* pod : {"llama-7d-x", "llama-h100-5c-y", "mistral-5c-q", "d-7f-z", "llama-0", "llama-h100-1",
                            "mistral-0", "d-1", "other-1"})
      for (const char* model : {"m/x", "m.x", "m/y", "z"})
        if ((std::string(pod).size() + std::string(model).size()) % 2 == 0) discovered.push_back({ns, pod, model});
  ASSERT_FALSE(discovered.empty());
  for (unsigned seed : {11u, 12u, 13u, 14u}) {
    RandomCluster random(seed, /*varied=*/false, /*hpas=*/true);
    ViewBackend backend(random.cluster());
    ModelViews views;
    views.set_discovered(&discovered);
    ASSERT_TRUE(views.rebuild(backend).ok());
    bool by_metrics = false;
    for (int step = 0; step < 300; ++step) {
      const auto changed = random.step();
      ASSERT_TRUE(views.update(backend, changed).ok());
      auto full = build_models(random.cluster(), &discovered);
      ASSERT_TRUE(full.ok());
      const json want = dump(*full), got = dump(views.models());
      ASSERT_EQ(got, want) << "seed " << seed << " step " << step << " first change " << changed[0].kind << " "
                           << changed[0].ns << "/" << changed[0].name << "\nfull:        " << want.dump()
                           << "\nincremental: " << got.dump();
      for (const auto& c : full->conditions)
        by_metrics = by_metrics || c.condition.message.find("in their metrics") != std::string::npos;
    }
    EXPECT_TRUE(by_metrics) << "seed " << seed << ": no model was ever found through its pods' metrics";
  }
}

// The views keep a DeploymentRecord of each Deployment instead of its JSON: over random clusters whose
// Deployments vary in everything the views read, full builds and incremental updates give the same views
// as the former builder (reference_model_builder.*, which read the JSON), with and without discovery.
TEST(ModelViewsReference, DeploymentRecordsGiveTheSameViewsAsTheJson) {
  std::vector<sdk::PodModel> discovered;
  for (const char* pod : {"llama-7d-x", "llama-h100-5c-y", "mistral-5c-q", "d-7f-z", "llama-0", "d-1", "other-1"})
    for (const char* model : {"m/x", "m/y", "z"}) discovered.push_back({"a", pod, model});
  for (unsigned seed = 21; seed < 31; ++seed) {
    const bool discovery = seed % 2 == 0;
    RandomCluster random(seed, /*varied=*/true);
    ViewBackend backend(random.cluster());
    ModelViews views;
    reference::ModelViews former;
    views.set_discovered(discovery ? &discovered : nullptr);
    former.set_discovered(discovery ? &discovered : nullptr);
    ASSERT_TRUE(views.rebuild(backend).ok());
    ASSERT_TRUE(former.rebuild(backend).ok());
    std::size_t variants = 0;
    for (int step = 0; step < 300; ++step) {
      const auto changed = random.step();
      ASSERT_TRUE(views.update(backend, changed).ok());
      ASSERT_TRUE(former.update(backend, changed).ok());
      const json want = dump(former.models()), got = dump(views.models());
      ASSERT_EQ(got, want) << "seed " << seed << " step " << step << " first change " << changed[0].kind << " "
                           << changed[0].ns << "/" << changed[0].name << "\nformer:  " << want.dump()
                           << "\nrecords: " << got.dump();
      auto full = build_models(random.cluster(), discovery ? &discovered : nullptr);
      auto former_full = reference::build_models(random.cluster(), discovery ? &discovered : nullptr);
      ASSERT_TRUE(full.ok() && former_full.ok());
      ASSERT_EQ(dump(*full), dump(*former_full)) << "seed " << seed << " step " << step;
      for (const auto& m : full->models) variants += m.variants.size();
    }
    EXPECT_TRUE(random.put_errors.empty()) << random.put_errors[0];
    EXPECT_GT(variants, 100u) << "seed " << seed << ": too few variants to compare";
  }
}

// What a record reads of a Deployment, case by case (the rules in deployment_record.h).
TEST(DeploymentRecord, ReadsWhatTheViewsUse) {
  json d = deployment("ns", "llama", json::parse(R"({
    "metadata": {"labels": {"llmd.ai/model": "", "inference.optimization/acceleratorName": 3}},
    "spec": {"replicas": "3", "selector": {"matchLabels": {"b": "2", "a": "1"}},
             "template": {"metadata": {"labels": {"llmd.ai/model": "m.x", "inference.optimization/acceleratorName": "H100"}},
                          "spec": {"nodeSelector": {"nvidia.com/gpu.product": "", "cloud.google.com/gke-accelerator": "nvidia-l4"},
                                   "containers": [{"name": "a", "resources": {"limits": {"nvidia.com/gpu": "2"}, "requests": {"amd.com/gpu": 5}}},
                                                  {"name": "b", "resources": {"limits": {"nvidia.com/gpu": 0}, "requests": {"intel.com/gpu": 1}}}]}}},
    "status": {"readyReplicas": 1}})"));
  const DeploymentRecord r = deployment_record_of(d);
  EXPECT_EQ(r.ns, "ns");
  EXPECT_EQ(r.name, "llama");
  EXPECT_EQ(r.model_label, "");            // the metadata label, even empty, wins over the template's
  EXPECT_EQ(r.accelerator_label, "H100");  // not a string in metadata: the template's
  EXPECT_EQ(r.node_selector_product, "nvidia-l4");
  EXPECT_EQ(r.current_replicas, 3);
  EXPECT_EQ(r.ready_replicas, 1);
  EXPECT_EQ(r.pending_replicas, 2);
  EXPECT_EQ(r.gpus, 3);  // 2 limits of a, 1 request of b (no GPU limits)
  EXPECT_EQ(r.match_labels, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(r.selects({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_FALSE(r.selects({{"a", "1"}}));
  d["spec"]["selector"]["matchLabels"]["c"] = 1;
  EXPECT_FALSE(deployment_record_of(d).selects({{"a", "1"}, {"b", "2"}, {"c", "1"}}));
  d.erase("status");
  d["metadata"].erase("namespace");
  const DeploymentRecord no_status = deployment_record_of(d);
  EXPECT_EQ(no_status.ns, "default");
  EXPECT_EQ(no_status.ready_replicas, 3);  // never deployed: every replica counts as ready
  EXPECT_EQ(no_status.pending_replicas, 0);
}

TEST(ModelViews, OnePodOrDeploymentChangeRebuildsOnlyItsModel) {
  sdk::InMemoryCluster c(kSys);
  put(c, unit_costs());
  for (int m = 0; m < 50; ++m) {
    const std::string id = "org/m" + std::to_string(m);
    put(c, va("ns", "va" + std::to_string(m), {{"modelID", id}}));
    put(c, deployment("ns", "d" + std::to_string(m),
                      {{"metadata", {{"labels", {{"llmd.ai/model", "org.m" + std::to_string(m)}}}}}}));
  }
  ViewBackend backend(c);
  ModelViews views;
  ASSERT_TRUE(views.rebuild(backend).ok());
  EXPECT_EQ(views.last_built(), 50u);
  ASSERT_EQ(views.models().models.size(), 50u);
  // A pod appears for d7 (its Deployment scaled from 2 to 3): only model org/m7 is built again.
  ASSERT_TRUE(c.scale("ns", "d7", 3).ok());
  ASSERT_TRUE(views.update(backend, {{"Deployment", "ns", "d7"}, {"Pod", "ns", "d7-2"}}).ok());
  EXPECT_EQ(views.last_built(), 1u);
  const auto& m7 =
      views.models()
          .models[std::size_t(std::find_if(views.models().models.begin(), views.models().models.end(),
                                           [](const sdk::ModelView& m) { return m.key.model_id == "org/m7"; }) -
                              views.models().models.begin())];
  EXPECT_EQ(m7.variants.at(0).pods, (std::vector<std::string>{"d7-0", "d7-1", "d7-2"}));
  EXPECT_EQ(m7.variants.at(0).current_replicas, 3);
  // A pod whose owner did not change (its status did): nothing is built.
  ASSERT_TRUE(views.update(backend, {{"Pod", "ns", "d3-0"}}).ok());
  EXPECT_EQ(views.last_built(), 0u);
  // The unit costs: everything.
  put(c, config_map("accelerator-unitcost", {{"costs", "H100: 1\n"}}));
  ASSERT_TRUE(views.update(backend, {{"ConfigMap", kSys, "accelerator-unitcost"}}).ok());
  EXPECT_EQ(views.last_built(), 50u);
}

}  // namespace
}  // namespace wva::framework

namespace wva::framework {
namespace {

json pod(const std::string& ns, const std::string& name, const std::string& owner = "") {
  json p = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
  if (!owner.empty()) p["metadata"]["annotations"][sdk::kPodDeploymentAnnotation] = owner;
  return p;
}

// The FAQ's VariantAutoscaling: no scaleTargetRef, no llmd.ai/model label anywhere; the pods' metrics say
// which model they serve (model_name), and their owners become the variants.
TEST(ModelBuilder, VariantsFoundWithoutLabelsByThePodsServingTheModel) {
  sdk::InMemoryCluster c(kSys);
  put(c, unit_costs());
  // The FAQ's variants: one Deployment per accelerator, told apart by their nodeSelectors.
  auto on = [](const char* product) {
    return json{{"spec", {{"template", {{"spec", {{"nodeSelector", {{"nvidia.com/gpu.product", product}}}}}}}}}};
  };
  put(c, deployment("llm", "llama-a100", on("A100-SXM4-80GB")));
  put(c, deployment("llm", "llama-l40s", on("L40S")));
  put(c, deployment("llm", "granite-h100", on("H100")));
  // Labelled for another model: never claimed by metrics, whatever its pods report.
  put(c, deployment("llm", "mislabelled", {{"metadata", {{"labels", {{"llmd.ai/model", "other.model"}}}}}}));
  put(c, pod("llm", "llama-a100-7c9f8d6b5-x2k4q"));  // owner by name prefix and selector
  put(c, pod("llm", "llama-l40s-0", "llama-l40s"));  // owner by the backend's annotation
  put(c, pod("llm", "granite-h100-0", "granite-h100"));
  put(c, pod("llm", "mislabelled-0", "mislabelled"));
  put(c, pod("llm", "orphan-0", "gone"));  // its owner is not in the cache
  put(c, va("llm", "llama", {{"modelId", "meta/llama-3.1-8b"}}));
  put(c, va("llm", "absent", {{"modelID", "nobody/serves-this"}}));
  const std::vector<sdk::PodModel> discovered = {
      {"llm", "llama-a100-7c9f8d6b5-x2k4q", "meta/llama-3.1-8b"},
      {"llm", "llama-l40s-0", "meta/llama-3.1-8b"},
      {"llm", "granite-h100-0", "ibm/granite"},
      {"llm", "mislabelled-0", "meta/llama-3.1-8b"},
      {"llm", "orphan-0", "meta/llama-3.1-8b"},
      {"other", "llama-a100-0", "meta/llama-3.1-8b"},  // another namespace: another model
  };
  auto built = build_models(c, &discovered);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  ASSERT_EQ(built->models.size(), 1u);
  const auto& view = built->models[0];
  EXPECT_EQ(view.key.model_id, "meta/llama-3.1-8b");
  ASSERT_EQ(view.variants.size(), 2u);
  EXPECT_EQ(view.variants[0].name, "llama-a100");
  EXPECT_EQ(view.variants[0].accelerator, "A100");
  EXPECT_EQ(view.variants[1].name, "llama-l40s");
  EXPECT_EQ(view.variants[1].accelerator, "L40S");
  const auto& pods = view.variants[0].pods;  // the in-memory cluster adds llama-a100-0 and -1 itself
  EXPECT_NE(std::find(pods.begin(), pods.end(), "llama-a100-7c9f8d6b5-x2k4q"), pods.end());
  const auto* found = condition_of(*built, "llama");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->condition.status, "True");
  EXPECT_EQ(found->condition.message,
            "Found Deployment(s) llama-a100, llama-l40s (their pods report model_name=meta/llama-3.1-8b in their "
            "metrics)");
  const auto* absent = condition_of(*built, "absent");
  ASSERT_NE(absent, nullptr);
  EXPECT_EQ(absent->condition.reason, "TargetNotFound");
  EXPECT_NE(absent->condition.message.find("no pod of the namespace reports model_name=nobody/serves-this"),
            std::string::npos)
      << absent->condition.message;

  // Without discovery the same cluster resolves nothing, and the message does not mention metrics.
  auto without = build_models(c);
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->models.empty());
  EXPECT_EQ(condition_of(*without, "llama")->condition.message.find("metrics"), std::string::npos);

  // A labelled Deployment wins over discovery: the label is the operator's explicit word.
  put(c, deployment("llm", "llama-h100", {{"metadata", {{"labels", {{"llmd.ai/model", "meta.llama-3.1-8b"}}}}}}));
  auto labelled = build_models(c, &discovered);
  ASSERT_TRUE(labelled.ok());
  ASSERT_EQ(labelled->models.size(), 1u);
  ASSERT_EQ(labelled->models[0].variants.size(), 1u);
  EXPECT_EQ(labelled->models[0].variants[0].name, "llama-h100");
}

}  // namespace
}  // namespace wva::framework
