#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "cluster/local_cluster.h"
#include "cluster/status_patch.h"
#include "reference_local_cluster.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A fresh folder under the system temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("wva-local-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

  // Writes a file and moves its mtime forward so a rewrite within one clock tick is still seen.
  void write(const std::string& name, const std::string& text) {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    fs::last_write_time(p, fs::file_time_type::clock::now() + std::chrono::seconds(++bump_));
  }

 private:
  fs::path path_;
  int bump_ = 0;
};

constexpr const char* kModel = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: llama-h100
  namespace: llm
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: llama, llmd.ai/model: meta.llama-3.1-8b}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata:
  name: llama-h100
  namespace: llm
spec:
  modelID: meta/llama-3.1-8b
  scaleTargetRef: {kind: Deployment, name: llama-h100}
---
# an empty document is fine
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: llama-h100, namespace: llm}
spec: {minReplicas: 1, maxReplicas: 10}
)";

constexpr const char* kConfig = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: capacity-scaling-config
  namespace: wva-system
data:
  default: |
    kvCacheThreshold: 0.8
  threshold: 0.8
  enabled: true
)";

TEST(LocalCluster, LoadsMultiDocYamlAndJsonSorted) {
  TempDir dir;
  dir.write("10-model.yaml", kModel);
  dir.write("00-config.yml", kConfig);
  dir.write(
      "20-other.json",
      R"({"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}]})");
  dir.write("README.md", "not yaml: [");
  dir.write(".hidden.yaml", "garbage: [");
  LocalCluster c(dir.path(), "wva-system");
  auto r = c.load();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(c.system_namespace(), "wva-system");
  EXPECT_EQ(c.describe(), "local:" + dir.path().string());

  auto deps = c.list("Deployment", "llm");
  ASSERT_TRUE(deps.ok());
  ASSERT_EQ(deps->size(), 1u);
  EXPECT_EQ((*deps)[0]["spec"]["replicas"], 2);
  EXPECT_EQ(c.list("VariantAutoscaling", "")->size(), 1u);
  EXPECT_EQ(c.list("HorizontalPodAutoscaler", "llm")->size(), 1u);
  auto svc = c.get("Service", "default", "s");  // from a JSON List, namespace defaulted
  ASSERT_TRUE(svc.ok());
  EXPECT_TRUE(svc->has_value());

  auto cm = c.get("ConfigMap", "wva-system", "capacity-scaling-config").value().value();
  auto data = sdk::config_map_data(cm);
  EXPECT_EQ(data["threshold"], "0.8") << "ConfigMap data keeps the written text";
  EXPECT_EQ(data["enabled"], "true");
  EXPECT_EQ(data["default"], "kvCacheThreshold: 0.8\n");

  auto pods = c.list("Pod", "llm").value();
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0]["metadata"]["name"], "llama-h100-0");
  EXPECT_EQ(pods[1]["metadata"]["labels"]["llmd.ai/model"], "meta.llama-3.1-8b");
}

TEST(LocalCluster, CollectsEveryErrorWithFileAndDocIndex) {
  TempDir dir;
  dir.write("a.yaml", std::string(kModel) + R"(---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: x}
---
kind: Deployment
metadata: {name: d}
---
apiVersion: llmd.ai/v1beta9
kind: VariantAutoscaling
metadata: {name: v}
---
- just
- a list
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: llama-h100, namespace: llm}
)");
  dir.write("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c\n");
  dir.write("c.json", "{\"kind\": ");
  LocalCluster c(dir.path(), "wva-system");
  auto r = c.load();
  ASSERT_FALSE(r.ok());
  const std::string m = r.error().message;
  const std::string a = (dir.path() / "a.yaml").string();
  for (const std::string& line : {
           a + "[doc 5]: missing metadata.name",
           a + "[doc 6]: missing apiVersion",
           a + "[doc 7]: VariantAutoscaling v must have apiVersion llmd.ai/v1alpha1, got llmd.ai/v1beta9",
           a + "[doc 8]: not a Kubernetes object",
           a + "[doc 9]: duplicate Deployment llm/llama-h100 (first defined in " + a + "[doc 1])",
           (dir.path() / "b.yaml").string() + ":",
           (dir.path() / "c.json").string() + ": invalid JSON",
       })
    EXPECT_NE(m.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << m;
  // One error per line.
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 6) << m;
  // Nothing was loaded.
  EXPECT_EQ(c.list("Deployment", "")->size(), 0u);
}

// Objects a driver adds beside the folder's (wva simulate: the HPAs its emulator models) are read with the
// files at every load and refresh, checked as theirs are, and named by their origin in errors.
TEST(LocalCluster, ExtraObjectsAreReadWithTheFilesAndCheckedAlike) {
  TempDir dir;
  dir.write("10-model.yaml", kModel);
  LocalCluster c(dir.path(), "wva-system");
  const json hpa = json::parse(R"({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "emulated", "namespace": "llm"},
    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "llama-h100"}, "maxReplicas": 4}})");
  c.set_extra_objects({hpa}, "<driver>");
  ASSERT_TRUE(c.load().ok());
  auto listed = c.list("HorizontalPodAutoscaler", "llm");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u) << "the file's HPA and the extra one";
  // The records the model views read, unpacked one at a time: those of the listed JSON, in key order.
  auto records = c.list_hpa_records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(records->at(i), hpa_record_of(listed->at(i)));
  EXPECT_EQ(records->at(0).target, "llama-h100");
  EXPECT_EQ(records->at(0).max_replicas, 4) << "the extra one (emulated < llama-h100)";
  dir.write("20-more.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: llm}\n");
  ASSERT_TRUE(c.refresh().ok());
  EXPECT_EQ(c.list("HorizontalPodAutoscaler", "llm")->size(), 2u) << "a refresh keeps them";

  // Checked like a file's objects; the origin and index name the bad one; the good state is kept.
  json nameless = hpa;
  nameless["metadata"].erase("name");
  c.set_extra_objects({hpa, nameless}, "<driver>");
  dir.write("30-touch.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: t, namespace: llm}\n");
  auto bad = c.refresh();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("<driver>[1]: missing metadata.name"), std::string::npos) << bad.error().message;
  EXPECT_EQ(c.list("HorizontalPodAutoscaler", "llm")->size(), 2u);
  // One name in a file and among the extra objects: an error, as two files defining it are.
  json twin = hpa;
  twin["metadata"]["name"] = "llama-h100";
  c.set_extra_objects({twin}, "<driver>");
  auto dup = c.load();
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("<driver>[0]"), std::string::npos) << dup.error().message;
}

TEST(LocalCluster, MissingFolderIsAnError) {
  LocalCluster c("/nonexistent/wva/folder", "wva-system");
  auto r = c.load();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/wva/folder"), std::string::npos);
}

TEST(LocalCluster, RefreshKeepsMemoryOfUnchangedObjectsAndPreviousStateOnError) {
  TempDir dir;
  dir.write("model.yaml", kModel);
  dir.write("config.yaml", kConfig);
  LocalCluster c(dir.path(), "wva-system");
  ASSERT_TRUE(c.load().ok());
  ASSERT_TRUE(c.scale("llm", "llama-h100", 5).ok());
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "llm", "llama-h100", json{{"desired", 5}}).ok());

  // Nothing changed on disk: nothing re-read, memory intact.
  ASSERT_TRUE(c.refresh().ok());
  EXPECT_EQ(c.get("Deployment", "llm", "llama-h100").value().value()["spec"]["replicas"], 5);

  // Another file changes: the model objects keep their scale and status.
  dir.write("config.yaml", std::string(kConfig) + "  extra: \"1\"\n");
  ASSERT_TRUE(c.refresh().ok());
  EXPECT_EQ(sdk::config_map_data(c.get("ConfigMap", "wva-system", "capacity-scaling-config").value().value())["extra"],
            "1");
  auto dep = c.get("Deployment", "llm", "llama-h100").value().value();
  EXPECT_EQ(dep["spec"]["replicas"], 5);
  EXPECT_EQ(dep["status"]["readyReplicas"], 5);
  EXPECT_EQ(c.list("Pod", "llm")->size(), 5u);
  EXPECT_EQ(c.get("VariantAutoscaling", "llm", "llama-h100").value().value()["status"]["desired"], 5);

  // A broken file: error, previous state kept (including memory), and the error repeats until fixed.
  dir.write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\n");
  auto r = c.refresh();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("broken.yaml[doc 1]: missing metadata.name"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(c.refresh().ok());
  EXPECT_EQ(c.get("Deployment", "llm", "llama-h100").value().value()["spec"]["replicas"], 5);
  EXPECT_EQ(c.list("ConfigMap", "")->size(), 1u);

  // Fixed by removing it; then the Deployment's spec changes in the file: the file wins for it, while
  // the unchanged VA keeps its status.
  fs::remove(dir.path() / "broken.yaml");
  ASSERT_TRUE(c.refresh().ok());
  std::string changed = kModel;
  changed.replace(changed.find("replicas: 2"), 11, "replicas: 3");
  dir.write("model.yaml", changed);
  ASSERT_TRUE(c.refresh().ok());
  dep = c.get("Deployment", "llm", "llama-h100").value().value();
  EXPECT_EQ(dep["spec"]["replicas"], 3);
  EXPECT_FALSE(dep.contains("status"));
  EXPECT_EQ(c.get("VariantAutoscaling", "llm", "llama-h100").value().value()["status"]["desired"], 5);

  // A file removed: its objects go.
  fs::remove(dir.path() / "model.yaml");
  ASSERT_TRUE(c.refresh().ok());
  EXPECT_EQ(c.list("Deployment", "")->size(), 0u);
  EXPECT_EQ(c.list("Pod", "")->size(), 0u);
}

// A VA's or Deployment's version moves with every write that stores something (not with a patch of run
// times alone, which stores nothing), is never handed out twice (a VA deleted and re-created from the very
// same file gets a new one), and is nullopt for what does not exist. Other kinds answer the SDK's digest
// of their JSON.
TEST(LocalCluster, ObjectVersionsMoveWithEveryStoredWriteAndAreNeverReused) {
  TempDir dir;
  dir.write("model.yaml", kModel);
  dir.write("config.yaml", kConfig);
  LocalCluster c(dir.path(), "wva-system");
  ASSERT_TRUE(c.load().ok());
  auto version = [&](const char* kind, const char* name) { return c.object_version(kind, "llm", name).value(); };
  const auto va0 = version("VariantAutoscaling", "llama-h100");
  ASSERT_TRUE(va0.has_value());
  EXPECT_EQ(version("VariantAutoscaling", "llama-h100"), va0) << "a read moves nothing";
  EXPECT_EQ(version("VariantAutoscaling", "nope"), std::nullopt);
  EXPECT_EQ(version("Deployment", "nope"), std::nullopt);

  const json patch = {{"desiredOptimizedAlloc", {{"numReplicas", 3}, {"lastRunTime", "2025-01-01T00:00:00Z"}}}};
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "llm", "llama-h100", patch).ok());
  const auto va1 = version("VariantAutoscaling", "llama-h100");
  EXPECT_NE(va1, va0);
  json later = patch;
  later["desiredOptimizedAlloc"]["lastRunTime"] = "2025-01-01T00:01:00Z";
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "llm", "llama-h100", later).ok());
  EXPECT_EQ(version("VariantAutoscaling", "llama-h100"), va1) << "run times alone are not stored";

  const auto dep0 = version("Deployment", "llama-h100");
  ASSERT_TRUE(dep0.has_value());
  ASSERT_TRUE(c.scale("llm", "llama-h100", 5).ok());
  const auto dep1 = version("Deployment", "llama-h100");
  EXPECT_NE(dep1, dep0);
  ASSERT_TRUE(c.patch_status("Deployment", "llm", "llama-h100", json{{"readyReplicas", 4}}).ok());
  EXPECT_NE(version("Deployment", "llama-h100"), dep1);

  // Deleted, then re-created from the same text: the object reads as the first one did, its version is new.
  std::set<std::string> seen{*va0, *va1};
  fs::remove(dir.path() / "model.yaml");
  ASSERT_TRUE(c.refresh().ok());
  EXPECT_EQ(version("VariantAutoscaling", "llama-h100"), std::nullopt);
  dir.write("model.yaml", kModel);
  ASSERT_TRUE(c.refresh().ok());
  const auto va2 = version("VariantAutoscaling", "llama-h100");
  ASSERT_TRUE(va2.has_value());
  EXPECT_FALSE(seen.count(*va2)) << *va2;
  EXPECT_FALSE(c.get("VariantAutoscaling", "llm", "llama-h100").value()->contains("status"));

  // A stored kind: a digest of its JSON, equal while the object is.
  auto cm = [&] { return c.object_version("ConfigMap", "wva-system", "capacity-scaling-config").value(); };
  ASSERT_TRUE(cm().has_value());
  EXPECT_EQ(cm(), cm());
  EXPECT_EQ(*cm(), sdk::ClusterView::content_version(
                       *c.get_shared("ConfigMap", "wva-system", "capacity-scaling-config").value()));
}

TEST(LocalCluster, WritesOnMissingObjectsAreNotFound) {
  TempDir dir;
  dir.write("model.yaml", kModel);
  LocalCluster c(dir.path(), "wva-system");
  ASSERT_TRUE(c.load().ok());
  EXPECT_EQ(c.patch_status("VariantAutoscaling", "llm", "nope", json{{"a", 1}}).error().code,
            sdk::ErrorCode::kNotFound);
  EXPECT_EQ(c.scale("llm", "nope", 1).error().code, sdk::ErrorCode::kNotFound);
}

TEST(LocalCluster, RevisionMovesOnModelShapingChangesOnly) {
  TempDir dir;
  dir.write("model.yaml", kModel);
  LocalCluster c(dir.path(), "wva-system");
  ASSERT_TRUE(c.load().ok());
  const auto r0 = c.revision();
  // The host's own VA status writes do not invalidate its model views...
  ASSERT_TRUE(
      c.patch_status("VariantAutoscaling", "llm", "llama-h100", json{{"desiredOptimizedAlloc", {{"numReplicas", 3}}}})
          .ok());
  ASSERT_TRUE(c.refresh().ok());  // nothing changed on disk
  EXPECT_EQ(c.revision(), r0);
  // ...but a scale, a Deployment status change, or an edited file do.
  ASSERT_TRUE(c.scale("llm", "llama-h100", 3).ok());
  const auto r1 = c.revision();
  EXPECT_GT(r1, r0);
  ASSERT_TRUE(c.patch_status("Deployment", "llm", "llama-h100", json{{"readyReplicas", 2}}).ok());
  const auto r2 = c.revision();
  EXPECT_GT(r2, r1);
  dir.write("config.yaml", kConfig);
  ASSERT_TRUE(c.refresh().ok());
  EXPECT_GT(c.revision(), r2);
}

TEST(LocalCluster, AStatusPatchOfNothingButRunTimesIsNotStored) {
  TempDir dir;
  dir.write("model.yaml", kModel);
  LocalCluster c(dir.path(), "wva-system");
  ASSERT_TRUE(c.load().ok());
  const json patch = {{"desiredOptimizedAlloc", {{"numReplicas", 3}, {"lastRunTime", "2025-01-01T00:00:00Z"}}}};
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "llm", "llama-h100", patch).ok());
  const auto written = c.get_shared("VariantAutoscaling", "llm", "llama-h100").value();
  // The same allocation a minute later: the object (the very snapshot) stays as it was.
  json later = patch;
  later["desiredOptimizedAlloc"]["lastRunTime"] = "2025-01-01T00:01:00Z";
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "llm", "llama-h100", later).ok());
  EXPECT_EQ(c.get_shared("VariantAutoscaling", "llm", "llama-h100").value(), written);
  EXPECT_EQ((*written)["status"]["desiredOptimizedAlloc"]["lastRunTime"], "2025-01-01T00:00:00Z");
  // A real change is stored, run time and all.
  later["desiredOptimizedAlloc"]["numReplicas"] = 4;
  ASSERT_TRUE(c.patch_status("VariantAutoscaling", "llm", "llama-h100", later).ok());
  const auto changed = c.get_shared("VariantAutoscaling", "llm", "llama-h100").value();
  EXPECT_NE(changed, written);
  EXPECT_EQ((*changed)["status"]["desiredOptimizedAlloc"], later["desiredOptimizedAlloc"]);
  // A Deployment status patch that changes nothing does not move the revision either.
  ASSERT_TRUE(c.patch_status("Deployment", "llm", "llama-h100", json{{"readyReplicas", 2}}).ok());
  const auto r = c.revision();
  ASSERT_TRUE(c.patch_status("Deployment", "llm", "llama-h100", json{{"readyReplicas", 2}}).ok());
  EXPECT_EQ(c.revision(), r);
}

json without_run_times(json j) {
  if (j.is_object()) {
    j.erase(kStatusRunTimeField);
    for (auto& [k, v] : j.items()) v = without_run_times(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = without_run_times(v);
  }
  return j;
}

// A small random JSON value over few keys and values, so that patches often hit what is there.
json random_value(std::mt19937& rng, int depth) {
  static const char* keys[] = {"a", "b", "lastRunTime", "c"};
  switch (rng() % (depth > 0 ? 7 : 5)) {
    case 0: return nullptr;
    case 1: return static_cast<int>(rng() % 3);
    case 2: return std::string(1, static_cast<char>('x' + rng() % 2));
    case 3: return rng() % 2 == 0;
    case 4: return json::object();
    case 5: {
      json o = json::object();
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) o[keys[rng() % 4]] = random_value(rng, depth - 1);
      return o;
    }
    default: {
      json a = json::array();
      for (int i = 0, n = static_cast<int>(rng() % 3); i < n; ++i) a.push_back(random_value(rng, depth - 1));
      return a;
    }
  }
}

// The in-place comparison says "changes" exactly when merging the patch into a copy and comparing both
// without their lastRunTime members does.
TEST(StatusPatch, InPlaceComparisonAgreesWithMergingACopyOnRandomPatches) {
  std::mt19937 rng(1206);
  int changes = 0, same = 0;
  for (int i = 0; i < 20000; ++i) {
    json status = random_value(rng, 3);
    if (!status.is_object()) status = json::object();
    json patch = rng() % 3 == 0 ? status : random_value(rng, 3);  // a third of the time: the status itself
    if (rng() % 2 == 0 && patch.is_object()) patch["lastRunTime"] = "t" + std::to_string(i);
    json merged = status;
    merged.merge_patch(patch);
    const bool expected = without_run_times(merged) != without_run_times(status);
    ASSERT_EQ(status_patch_changes(&status, patch), expected)
        << "status " << status.dump() << " patch " << patch.dump();
    (expected ? changes : same)++;
    // No status yet: a patch object always creates one.
    if (patch.is_object()) {
      ASSERT_TRUE(status_patch_changes(nullptr, patch));
    }
  }
  EXPECT_GT(changes, 1000);
  EXPECT_GT(same, 1000);
}

}  // namespace
}  // namespace wva::framework

namespace wva::framework {
namespace {

// Random folders of Deployments (names that prefix one another, stored pods named like synthesized ones),
// a VA and pods, then random scale() calls, status patches of Deployments and VAs, and files rewritten
// (spec or status changed, or not) and refreshed: the backend that keeps Deployments packed answers every
// read as the former one that kept their JSON in the store (reference_local_cluster.*).
class RandomFolder {
 public:
  explicit RandomFolder(unsigned seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string deployment_yaml(const std::string& ns, const std::string& name) {
    std::string y =
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n";
    if (pick(2)) y += "  labels: {llmd.ai/model: m.x}\n";
    y += "spec:\n";
    if (pick(4)) y += "  replicas: " + std::to_string(pick(4)) + "\n";
    if (pick(2)) y += "  selector: {matchLabels: {app: " + name + "}}\n";
    y += "  template:\n    metadata: {labels: {app: " + name +
         "}}\n    spec:\n      containers:\n"
         "        - name: vllm\n          resources: {limits: {nvidia.com/gpu: " +
         std::to_string(1 + pick(2)) + "}}\n";
    if (pick(2))
      y += "status: {replicas: " + std::to_string(pick(4)) + ", readyReplicas: " + std::to_string(pick(3)) + "}\n";
    return y;
  }

  // Each file is rewritten with probability 1/2 (else kept as it was, so memory carries over).
  void write(TempDir& dir) {
    for (int f = 0; f < 2; ++f) {
      if (!texts_[f].empty() && pick(2)) continue;
      std::string text;
      for (const char* ns : {"a", "b"})
        for (const char* name : kDeployments)
          if ((std::string(name).size() + f) % 2 == 0 && pick(5)) text += deployment_yaml(ns, name);
      if (f == 0) {
        text +=
            "---\napiVersion: llmd.ai/v1alpha1\nkind: VariantAutoscaling\nmetadata: {name: va, namespace: a}\n"
            "spec: {modelID: m/x}\n";
        for (const char* pod : {"d-x", "llama-0", "d-1"})
          if (pick(2))
            text += std::string("---\napiVersion: v1\nkind: Pod\nmetadata: {name: ") + pod +
                    ", namespace: a, labels: {app: d}}\n";
      }
      if (f == 1 && pick(3))  // a second VA, in the other namespace and file, now and then missing
        text +=
            "---\napiVersion: llmd.ai/v1alpha1\nkind: VariantAutoscaling\nmetadata: {name: vb, namespace: b}\n"
            "spec: {modelID: m/y, scaleToZero: " +
            std::string(pick(2) ? "true" : "false") + "}\n";
      texts_[f] = text;
      dir.write("f" + std::to_string(f) + ".yaml", text);
    }
  }

  static constexpr const char* kDeployments[] = {"d", "llama", "llama-h100", "d-1"};
  static constexpr const char* kPods[] = {"d-0",     "d-1",          "d-01",     "d-x", "d-1-0", "llama-0",
                                          "llama-3", "llama-h100-1", "llama--1", "-0",  "d-"};

 private:
  std::mt19937 rng_;
  std::string texts_[2];
};

template <typename Cluster>
json read_all(Cluster& c) {
  json out = json::object();
  auto list = [](auto r) {
    json a = json::array();
    for (const auto& o : r.value()) a.push_back(*o);
    return a;
  };
  for (const char* ns : {"", "a", "b"}) {
    out["deployments"][ns] = list(c.list_shared("Deployment", ns));
    out["pods"][ns] = list(c.list_shared("Pod", ns));
    out["vas"][ns] = list(c.list_shared("VariantAutoscaling", ns));
  }
  for (const char* ns : {"a", "b"}) {
    for (const char* pod : RandomFolder::kPods) {
      auto p = c.get_shared("Pod", ns, pod);
      out["pod"][ns][pod] = *p ? **p : json();
      auto owner = c.get_pod_owner(ns, pod);
      out["owner"][ns][pod] =
          *owner ? json{(*owner)->ns, (*owner)->name, (*owner)->deployment, (*owner)->labels} : json();
    }
    for (const char* va : {"va", "vb"}) {
      auto got = c.get_shared("VariantAutoscaling", ns, va);
      out["va"][ns][va] = *got ? **got : json();
    }
    for (const char* d : RandomFolder::kDeployments) {
      auto got = c.get_shared("Deployment", ns, d);
      out["deployment"][ns][d] = *got ? **got : json();
      auto record = c.get_deployment_record(ns, d);
      out["record"][ns][d] = *record ? json{(*record)->name, (*record)->current_replicas, (*record)->ready_replicas,
                                            (*record)->gpus, (*record)->model_label}
                                     : json();
    }
  }
  // Held in locals: gcc 12 warns of a Result temporary read in a range-for (maybe-uninitialized).
  const auto owners = c.list_pod_owners();
  if (owners.ok())
    for (const auto& o : *owners) out["owners"].push_back({o.ns, o.name, o.deployment, o.labels});
  const auto records = c.list_deployment_records();
  if (records.ok())
    for (const auto& r : *records)
      out["records"].push_back({r->ns, r->name, r->current_replicas, r->pending_replicas, r->gpus, r->match_labels});
  out["revision"] = c.revision();
  return out;
}

TEST(LocalClusterReference, PackedDeploymentsAndVasReadAsTheFormerStoreHeldThem) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    TempDir dir;
    RandomFolder random(seed);
    random.write(dir);
    LocalCluster packed(dir.path(), "wva-system");
    reference::LocalCluster former(dir.path(), "wva-system");
    ASSERT_TRUE(packed.load().ok());
    ASSERT_TRUE(former.load().ok());
    int scaled = 0, patched = 0, patched_vas = 0;
    for (int step = 0; step < 120; ++step) {
      const std::string ns = random.pick(3) ? "a" : "b";
      const std::string name = RandomFolder::kDeployments[random.pick(4)];
      const int op = random.pick(10);
      if (op < 4) {
        const int replicas = random.pick(6) - 1;
        auto a = packed.scale(ns, name, replicas), b = former.scale(ns, name, replicas);
        ASSERT_EQ(a.ok(), b.ok());
        if (!a.ok()) {
          EXPECT_EQ(a.error().message, b.error().message);
        }
        scaled += a.ok();
      } else if (op < 7) {
        const bool va = random.pick(3) == 0;
        const std::string kind = va ? "VariantAutoscaling" : "Deployment";
        const json patch = {
            {"observedGeneration", random.pick(3)},
            {"replicas", random.pick(2) ? json(random.pick(4)) : json()},
            {"conditions", random.pick(2) ? json::array({{{"type", "A"}, {"status", "True"}}}) : json::array()}};
        const std::string va_ns = random.pick(2) ? "a" : "b", va_name = random.pick(3) ? "va" : "vb";
        auto a = packed.patch_status(kind, va ? va_ns : ns, va ? va_name : name, patch);
        auto b = former.patch_status(kind, va ? va_ns : ns, va ? va_name : name, patch);
        ASSERT_EQ(a.ok(), b.ok());
        if (!a.ok()) {
          EXPECT_EQ(a.error().message, b.error().message);
        }
        patched += a.ok() && !va;
        patched_vas += a.ok() && va;
      } else if (op < 9) {
        random.write(dir);
        ASSERT_TRUE(packed.refresh().ok());
        ASSERT_TRUE(former.refresh().ok());
      }
      const json want = read_all(former), got = read_all(packed);
      ASSERT_EQ(got, want) << "seed " << seed << " step " << step << "\nformer: " << want.dump()
                           << "\npacked: " << got.dump();
      ASSERT_EQ(packed.changes_since(0).has_value(), former.changes_since(0).has_value());
    }
    EXPECT_GT(scaled, 5) << "seed " << seed;
    EXPECT_GT(patched, 5) << "seed " << seed;
    EXPECT_GT(patched_vas, 2) << "seed " << seed;
  }
}

}  // namespace
}  // namespace wva::framework
