// The host's model builder and the queueing plugin read the same service-classes ConfigMap with the one
// parser (wva/sdk/util/service_classes.h): for every model, the SLO the builder puts in the ModelView and
// the SLO the plugin finds in its own read of the ConfigMap (when the host gave none) are the same, bad
// entries included. The InMemoryCluster of the SDK's FakeContext stands for the API server.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analyzer.h"
#include "model/model_builder.h"
#include "queueing_plugin.h"
#include "wva/sdk/testing/fakes.h"
#include "wva/sdk/util/memory_cluster.h"

namespace wva::framework {
namespace {

using nlohmann::json;

json object(const std::string& kind, const std::string& ns, const std::string& name, json rest) {
  json o = {{"kind", kind}, {"metadata", {{"name", name}, {"namespace", ns}}}};
  sdk::apply_merge_patch(o, rest);
  return o;
}

// A model served by one Deployment on A100, with a profile, so the queueing plugin gets as far as the SLO.
void add_model(sdk::InMemoryCluster& cluster, const std::string& ns, const std::string& name,
               const std::string& model_id) {
  ASSERT_TRUE(cluster
                  .put(object("Deployment", ns, name,
                              {{"metadata", {{"labels", {{"inference.optimization/acceleratorName", "A100"}}}}},
                               {"spec", {{"replicas", 1}}}}))
                  .ok());
  json profile = {{"accelerators", json::array({{{"acc", "A100"},
                                                 {"maxBatchSize", 4},
                                                 {"perfParms",
                                                  {{"decodeParms", {{"alpha", 20.58}, {"beta", 0.41}}},
                                                   {"prefillParms", {{"gamma", 5.2}, {"delta", 0.1}}}}}}})}};
  ASSERT_TRUE(cluster
                  .put(object("VariantAutoscaling", ns, name,
                              {{"spec",
                                {{"modelID", model_id},
                                 {"scaleTargetRef", {{"kind", "Deployment"}, {"name", name}}},
                                 {"modelProfile", profile}}}}))
                  .ok());
}

TEST(ServiceClassesAgreement, BuilderAndQueueingPluginFindTheSameSlos) {
  sdk::testing::FakeContext ctx{"queueing"};
  auto& cluster = ctx.fake_cluster();
  const std::string sys = cluster.system_namespace();
  ASSERT_TRUE(
      cluster
          .put(object(
              "ConfigMap", sys, "service-classes-config",
              {{"data",
                {{"premium.yaml",
                  "name: Premium\npriority: 1\ndata:\n  - {model: meta/llama, slo-tpot: 24, slo-ttft: 500}\n"
                  "  - {model: meta/bad, slo-tpot: fast}\n"},
                 {"standard.yaml",
                  "name: Standard\npriority: 10\ndata:\n  - {model: \"meta/*\", slo-tpot: 50, slo-ttft: 1000}\n"
                  "  - {model: meta/llama, slo-tpot: 80, slo-ttft: 2000}\n  - {model: team/qwen, slo-tpot: 60}\n"},
                 {"odd.yaml", "name: Odd\npriority: 500\ndata:\n  - {model: mistral, slo-ttft: 900}\n"},
                 {"broken.yaml", "name: [unclosed\n"}}}}))
          .ok());
  add_model(cluster, "team", "llama", "meta/llama");       // exact entry in the highest-priority class
  add_model(cluster, "team", "bad", "meta/bad");           // its exact entry is bad: skipped, the glob applies
  add_model(cluster, "team", "other", "meta/other");       // glob only
  add_model(cluster, "team", "qwen", "qwen");              // namespace/modelID entry
  add_model(cluster, "team", "mistral", "mistral");        // class with an out-of-range priority: 100
  add_model(cluster, "team", "nothing", "nobody/listed");  // no SLO anywhere

  auto built = build_models(cluster);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  ASSERT_EQ(built->models.size(), 6u);

  queueing::QueueingPlugin plugin;
  ASSERT_TRUE(sdk::testing::configure_as_host(plugin, json::object(), "analyzers.queueing").empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  std::vector<sdk::ModelView> without_host_slo = built->models;
  for (auto& m : without_host_slo) m.slo.reset();
  ASSERT_TRUE(plugin.prepare_cycle(without_host_slo).ok());

  int with_slo = 0;
  for (const auto& hosted : built->models) {
    SCOPED_TRACE(hosted.key.to_string());
    sdk::ModelView m = hosted;
    m.slo.reset();
    const auto plan = queueing::plan_model(m, plugin.snapshot(), queueing::Settings{});
    const bool plugin_has_slo = plan.sizable || plan.no_opinion_reason != "NoSLO";
    ASSERT_EQ(hosted.slo.has_value(), plugin_has_slo) << plan.no_opinion_reason << ": " << plan.no_opinion_message;
    if (!hosted.slo) continue;
    ++with_slo;
    EXPECT_EQ(hosted.slo->service_class, plan.slo.service_class);
    EXPECT_EQ(hosted.slo->priority, plan.slo.priority);
    EXPECT_EQ(hosted.slo->ttft_ms, plan.slo.ttft_ms);
    EXPECT_EQ(hosted.slo->itl_ms, plan.slo.itl_ms);
    EXPECT_EQ(hosted.slo->tps, plan.slo.tps);
  }
  EXPECT_EQ(with_slo, 5);

  // The answers themselves (so agreeing on something wrong fails too).
  std::map<std::string, sdk::Slo> by_model;
  for (const auto& m : built->models)
    if (m.slo) by_model[m.key.model_id] = *m.slo;
  EXPECT_EQ(by_model["meta/llama"].service_class, "Premium");
  EXPECT_EQ(by_model["meta/bad"].service_class, "Standard");
  EXPECT_EQ(by_model["meta/other"].itl_ms, 50);
  EXPECT_EQ(by_model["qwen"].service_class, "Standard");
  EXPECT_EQ(by_model["mistral"].priority, 100);

  // Both report the same problems, each with its path.
  std::vector<std::string> builder_problems, plugin_problems;
  for (const auto& w : built->warnings)
    if (w.find("service-classes-config") != std::string::npos) builder_problems.push_back(w);
  for (const auto& d : ctx.diagnostics()) plugin_problems.push_back(d.to_string());
  EXPECT_EQ(builder_problems, plugin_problems);
  EXPECT_EQ(builder_problems.size(), 3u);
}

}  // namespace
}  // namespace wva::framework
