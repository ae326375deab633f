#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "wva/sdk/util/memory_cluster.h"

namespace wva::sdk {
namespace {

using nlohmann::json;

TEST(MergePatch, Rfc7396Examples) {
  // The test vectors of RFC 7396 appendix A.
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    json target = json::parse(c.target);
    apply_merge_patch(target, json::parse(c.patch));
    EXPECT_EQ(target, json::parse(c.result)) << c.target << " + " << c.patch;
  }
}

json deployment(const std::string& ns, const std::string& name, std::optional<int> replicas) {
  json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", {{"template", {{"metadata", {{"labels", {{"app", name}, {"tier", "llm"}}}}}}}}}};
  if (replicas) d["spec"]["replicas"] = *replicas;
  return d;
}

TEST(InMemoryCluster, PutRequiresKindAndNameAndDefaultsNamespace) {
  InMemoryCluster c("wva-system");
  EXPECT_EQ(c.system_namespace(), "wva-system");
  EXPECT_FALSE(c.put(json::array()).ok());
  EXPECT_FALSE(c.put(json{{"metadata", {{"name", "x"}}}}).ok());
  auto r = c.put(json{{"kind", "ConfigMap"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("metadata.name"), std::string::npos);
  ASSERT_TRUE(c.put(json{{"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}, {"data", {{"k", "v"}}}}).ok());
  auto got = c.get("ConfigMap", "default", "cm");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((**got)["metadata"]["namespace"], "default");
  EXPECT_EQ(config_map_data(**got).at("k"), "v");
  // Replace.
  ASSERT_TRUE(c.put(json{{"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}, {"data", {{"k", "w"}}}}).ok());
  EXPECT_EQ(config_map_data(*c.get("ConfigMap", "default", "cm").value()).at("k"), "w");
  EXPECT_FALSE(c.get("ConfigMap", "other", "cm").value().has_value());
  EXPECT_TRUE(c.remove("ConfigMap", "default", "cm"));
  EXPECT_FALSE(c.remove("ConfigMap", "default", "cm"));
  EXPECT_FALSE(c.get("ConfigMap", "default", "cm").value().has_value());
}

TEST(InMemoryCluster, ListFiltersByKindAndNamespaceSorted) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(deployment("b", "z", 1)).ok());
  ASSERT_TRUE(c.put(deployment("a", "y", 1)).ok());
  ASSERT_TRUE(c.put(deployment("b", "x", 1)).ok());
  ASSERT_TRUE(c.put(json{{"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}, {"namespace", "b"}}}}).ok());
  auto all = c.list("Deployment", "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0]["metadata"]["name"], "y");
  EXPECT_EQ((*all)[1]["metadata"]["name"], "x");
  EXPECT_EQ((*all)[2]["metadata"]["name"], "z");
  auto in_b = c.list("Deployment", "b");
  ASSERT_TRUE(in_b.ok());
  EXPECT_EQ(in_b->size(), 2u);
  EXPECT_EQ(c.list("ConfigMap", "a")->size(), 0u);
  EXPECT_EQ(c.list("Unknown", "")->size(), 0u);
}

TEST(InMemoryCluster, PatchStatusMergesAndNullDeletes) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(json{{"kind", "VariantAutoscaling"},
                         {"metadata", {{"name", "va"}, {"namespace", "ns"}}},
                         {"spec", {{"modelID", "m"}}}})
                  .ok());
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "ns", "va",
                             json{{"desired", 3}, {"conditions", json::array({{{"type", "A"}}})}, {"x", "y"}})
                  .ok());
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "ns", "va", json{{"desired", 4}, {"x", nullptr}}).ok());
  auto va = c.get("VariantAutoscaling", "ns", "va").value().value();
  EXPECT_EQ(va["status"], (json{{"desired", 4}, {"conditions", json::array({{{"type", "A"}}})}}));
  EXPECT_EQ(va["spec"]["modelID"], "m");  // spec untouched
  ASSERT_EQ(c.patches().size(), 2u);
  EXPECT_EQ(c.patches()[1].patch["desired"], 4);

  auto missing = c.patch_status("VariantAutoscaling", "ns", "nope", json{{"a", 1}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("ns/nope"), std::string::npos);
  EXPECT_FALSE(c.patch_status("VariantAutoscaling", "ns", "va", json::array()).ok());
  EXPECT_EQ(c.patches().size(), 2u);
}

// ClusterView::object_version's default (InMemoryCluster keeps no versions of its own): a digest of the
// object's JSON, so a change moves it, an equal object answers the same, a missing one nullopt, and a read
// failure is the read's error.
TEST(InMemoryCluster, ObjectVersionIsADigestOfTheObject) {
  InMemoryCluster c;
  const json va{{"kind", "VariantAutoscaling"}, {"metadata", {{"name", "va"}, {"namespace", "ns"}}}};
  ASSERT_TRUE(c.put(va).ok());
  auto version = [&] { return c.object_version("VariantAutoscaling", "ns", "va").value(); };
  const auto v0 = version();
  ASSERT_TRUE(v0.has_value());
  EXPECT_EQ(version(), v0);
  EXPECT_EQ(v0->rfind("json:", 0), 0u) << *v0;
  EXPECT_EQ(c.object_version("VariantAutoscaling", "ns", "nope").value(), std::nullopt);
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "ns", "va", json{{"desired", 3}}).ok());
  const auto v1 = version();
  EXPECT_NE(v1, v0);
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "ns", "va", json{{"desired", 4}}).ok());
  EXPECT_NE(version(), v1);
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "ns", "va", json{{"desired", 3}}).ok());
  EXPECT_EQ(version(), v1) << "the same object as then";
  c.remove("VariantAutoscaling", "ns", "va");
  EXPECT_EQ(c.object_version("VariantAutoscaling", "ns", "va").value(), std::nullopt);
  ASSERT_TRUE(c.put(va).ok());
  EXPECT_EQ(version(), v0) << "an equal object, an equal digest";
  // Objects that differ in one character, or only in order inside an array, differ.
  std::set<std::string> seen;
  for (const json& v : {json{{"a", "x"}}, json{{"a", "y"}}, json{{"a", json::array({1, 2})}},
                        json{{"a", json::array({2, 1})}}, json{{"a", "x"}, {"b", nullptr}}, json::object()})
    EXPECT_TRUE(seen.insert(ClusterView::content_version(v)).second) << v.dump();
  c.fail_next("get", make_error(ErrorCode::kTimeout, "deadline"), 1);
  auto failed = c.object_version("VariantAutoscaling", "ns", "va");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kTimeout);
}

TEST(InMemoryCluster, SynthesizesPodsFromDeployments) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(deployment("ns", "llama-h100", 3)).ok());
  ASSERT_TRUE(c.put(deployment("ns", "llama-a100", std::nullopt)).ok());  // default 1
  ASSERT_TRUE(c.put(deployment("other", "zero", 0)).ok());
  auto pods = c.list("Pod", "ns");
  ASSERT_TRUE(pods.ok());
  std::vector<std::string> names;
  for (const auto& p : *pods) names.push_back(p["metadata"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"llama-a100-0", "llama-h100-0", "llama-h100-1", "llama-h100-2"}));
  const auto& p = (*pods)[1];
  EXPECT_EQ(p["metadata"]["namespace"], "ns");
  EXPECT_EQ(p["metadata"]["labels"], (json{{"app", "llama-h100"}, {"tier", "llm"}}));
  EXPECT_EQ(p["metadata"]["annotations"][kPodDeploymentAnnotation], "llama-h100");
  EXPECT_EQ(c.list("Pod", "other")->size(), 0u);
  EXPECT_EQ(c.list("Pod", "")->size(), 4u);
  auto one = c.get("Pod", "ns", "llama-h100-2");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one->has_value());
  EXPECT_FALSE(c.get("Pod", "ns", "llama-h100-3").value().has_value());
  EXPECT_FALSE(c.get("Pod", "other", "llama-h100-0").value().has_value());
}

TEST(InMemoryCluster, ScaleSetsSpecAndStatusAndChangesPods) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(deployment("ns", "d", 1)).ok());
  ASSERT_TRUE(c.scale("ns", "d", 4).ok());
  auto d = c.get("Deployment", "ns", "d").value().value();
  EXPECT_EQ(d["spec"]["replicas"], 4);
  EXPECT_EQ(d["status"]["replicas"], 4);
  EXPECT_EQ(d["status"]["readyReplicas"], 4);
  EXPECT_EQ(c.list("Pod", "ns")->size(), 4u);
  ASSERT_TRUE(c.scale("ns", "d", 0).ok());
  EXPECT_EQ(c.list("Pod", "ns")->size(), 0u);
  EXPECT_EQ(c.scale("ns", "missing", 2).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(c.scale("ns", "d", -1).ok());
}

TEST(InMemoryCluster, PodReadinessFollowsReadyReplicas) {
  InMemoryCluster c;
  auto d = deployment("ns", "d", 3);
  d["status"] = {{"replicas", 3}, {"readyReplicas", 1}};
  ASSERT_TRUE(c.put(d).ok());
  auto pods = c.list("Pod", "ns").value();
  ASSERT_EQ(pods.size(), 3u);
  EXPECT_EQ(pods[0]["status"]["conditions"][0]["status"], "True");
  EXPECT_EQ(pods[1]["status"]["conditions"][0]["status"], "False");
  EXPECT_EQ(pods[2]["status"]["conditions"][0]["status"], "False");
}

TEST(InMemoryCluster, FailNextInjectsErrorsForACount) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(deployment("ns", "d", 1)).ok());
  c.fail_next("patch_status", make_error(ErrorCode::kConflict, "conflict"), 2);
  EXPECT_EQ(c.patch_status("Deployment", "ns", "d", json{{"a", 1}}).error().code, ErrorCode::kConflict);
  EXPECT_EQ(c.patch_status("Deployment", "ns", "d", json{{"a", 1}}).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(c.patch_status("Deployment", "ns", "d", json{{"a", 1}}).ok());
  c.fail_next("list", make_error(ErrorCode::kUnavailable, "down"));
  EXPECT_FALSE(c.list("Deployment", "").ok());
  EXPECT_TRUE(c.list("Deployment", "").ok());
}

TEST(InMemoryCluster, ReplaceAllIsAtomic) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(deployment("ns", "old", 1)).ok());
  // One invalid object: nothing changes.
  EXPECT_FALSE(c.replace_all({deployment("ns", "new", 1), json{{"kind", "X"}}}).ok());
  EXPECT_EQ(c.all().size(), 1u);
  ASSERT_TRUE(c.replace_all({deployment("ns", "new", 1), deployment("ns", "new2", 1)}).ok());
  auto all = c.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["metadata"]["name"], "new");
}

TEST(InMemoryCluster, ConcurrentPatchesAndReadsAreSafe) {
  InMemoryCluster c;
  ASSERT_TRUE(c.put(deployment("ns", "d", 2)).ok());
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < kPerThread; ++i) {
        (void)c.patch_status("Deployment", "ns", "d", json{{"t" + std::to_string(t), i}});
        (void)c.list("Pod", "ns");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.patches().size(), 4u * kPerThread);
  auto d = c.get("Deployment", "ns", "d").value().value();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(d["status"]["t" + std::to_string(t)], kPerThread - 1);
}

// A small random JSON value over few keys, so that patches often meet what is there.
json random_json(std::mt19937& rng, int depth) {
  static const char* keys[] = {"conditions", "variants", "a", "b"};
  switch (rng() % (depth > 0 ? 7 : 5)) {
    case 0: return nullptr;
    case 1: return static_cast<int>(rng() % 3);
    case 2: return std::string(1, static_cast<char>('x' + rng() % 2));
    case 3: return rng() % 2 == 0;
    case 4: return json::object();
    case 5: {
      json o = json::object();
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) o[keys[rng() % 4]] = random_json(rng, depth - 1);
      return o;
    }
    default: {
      json a = json::array();
      for (int i = 0, n = static_cast<int>(rng() % 3); i < n; ++i) a.push_back(random_json(rng, depth - 1));
      return a;
    }
  }
}

// patch_status builds the new object without copying what the patch replaces: the result is the object
// copied whole and merge-patched, over random statuses (absent, not an object, objects) and patches.
TEST(InMemoryCluster, PatchStatusEqualsCopyAndMergeOnRandomPatches) {
  std::mt19937 rng(61206);
  for (int i = 0; i < 5000; ++i) {
    InMemoryCluster c;
    json obj = {{"apiVersion", "llmd.ai/v1alpha1"},
                {"kind", "VariantAutoscaling"},
                {"metadata", {{"name", "va"}, {"namespace", "ns"}}},
                {"spec", random_json(rng, 2)}};
    if (rng() % 5 != 0) obj["status"] = rng() % 4 == 0 ? random_json(rng, 2) : random_json(rng, 3);
    if (obj.contains("status") && obj["status"].is_null()) obj.erase("status");
    ASSERT_TRUE(c.put(obj).ok());
    json patch = rng() % 6 == 0 ? json(nullptr) : random_json(rng, 3);
    if (!patch.is_object() && !patch.is_null()) patch = json::object({{"a", patch}});
    const auto before = c.get_shared("VariantAutoscaling", "ns", "va").value();
    ASSERT_TRUE(c.patch_status("VariantAutoscaling", "ns", "va", patch).ok());
    json expected = obj;
    if (patch.is_null()) expected.erase("status");
    else expected["status"].merge_patch(patch);
    ASSERT_EQ(*c.get_shared("VariantAutoscaling", "ns", "va").value(), expected)
        << "object " << obj.dump() << " patch " << patch.dump();
    ASSERT_EQ(*before, obj) << "the snapshot handed out before stays as it was";
  }
}

}  // namespace
}  // namespace wva::sdk
