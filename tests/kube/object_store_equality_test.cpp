// ObjectStore (compact pod and ReplicaSet records, interned labels/owners/conditions, the pod index
// pointing at its keys) against ReferenceObjectStore (the cache as it was, kept in
// reference_object_store.*): the same random sequence of lists, watch events, writes' answers and
// deletions, over a small universe of names so that objects collide, move between ReplicaSets and
// lose their owners. After every step both must give the same JSON for every kind, scope and object,
// the same pod owners, sizes and resourceVersions, and must have heard the same changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "cluster/kube/object_store.h"
#include "kube_objects.h"
#include "reference_object_store.h"

namespace wva::testing {
namespace {

using framework::kube::ObjectStore;
using nlohmann::json;
using reference::ReferenceObjectStore;

const std::vector<std::string> kNamespaces = {"a", "b", "c"};
const std::vector<std::string> kKinds = {"Pod", "ReplicaSet", "Deployment", "VariantAutoscaling"};

struct Generator {
  std::mt19937 rng;
  std::uint64_t rv = 1;

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  bool chance(int percent) { return pick(100) < percent; }
  const std::string& ns() { return kNamespaces[static_cast<std::size_t>(pick(3))]; }

  json owner(const char* kind, const std::string& name) {
    json o = {{"apiVersion", "apps/v1"}, {"kind", kind}, {"name", name}};
    if (chance(50)) o["uid"] = "uid-" + name;
    if (const int c = pick(3); c < 2) o["controller"] = c == 0;  // else absent
    return o;
  }

  json meta(const std::string& ns, const std::string& name) {
    json m = {{"namespace", ns}, {"name", name}, {"resourceVersion", std::to_string(++rv)}};
    if (chance(70)) m["uid"] = "uid-" + ns + "-" + name + (chance(20) ? "-new" : "");
    return m;
  }

  json pod_object(const std::string& ns) {
    json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", meta(ns, "rs" + std::to_string(pick(4)) + "-p" + std::to_string(pick(5)))}};
    json labels = json::object();
    for (int i = pick(3); i > 0; --i) labels["k" + std::to_string(pick(3))] = "v" + std::to_string(pick(2));
    if (!labels.empty()) p["metadata"]["labels"] = labels;
    if (chance(85)) {
      json refs = json::array({owner(chance(85) ? "ReplicaSet" : "Deployment", "rs" + std::to_string(pick(4)))});
      if (chance(10)) refs.push_back(owner("ReplicaSet", "rs" + std::to_string(pick(4))));
      p["metadata"]["ownerReferences"] = refs;
    }
    if (chance(10)) p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
    json status = json::object();
    if (chance(90)) status["phase"] = chance(80) ? "Running" : "Pending";
    if (chance(60)) status["podIP"] = "10.0.0." + std::to_string(pick(3));
    if (chance(50)) status["startTime"] = "2026-01-01T00:00:0" + std::to_string(pick(3)) + "Z";
    if (chance(70)) {
      json cs = json::array();
      for (const char* type : {"Ready", "ContainersReady"})
        if (chance(70)) cs.push_back({{"type", type}, {"status", chance(70) ? "True" : "False"}});
      status["conditions"] = cs;
    }
    p["status"] = status;
    p["spec"] = {{"containers", json::array({{{"name", "c"}}})}};
    return p;
  }

  json replica_set_object(const std::string& ns) {
    json r = {
        {"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"metadata", meta(ns, "rs" + std::to_string(pick(4)))}};
    if (chance(85))
      r["metadata"]["ownerReferences"] = json::array({owner("Deployment", "d" + std::to_string(pick(3)))});
    return r;
  }

  json deployment_object(const std::string& ns) {
    json d = deployment(ns, "d" + std::to_string(pick(3)), 1 + pick(3), "m" + std::to_string(pick(2)));
    d["metadata"].update(meta(ns, d["metadata"]["name"]));
    if (chance(30)) d["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
    // The same number as an integer or a double (equal as JSON, packed differently), statuses, GPUs.
    if (chance(30)) d["spec"]["replicas"] = chance(50) ? json(2) : json(2.0);
    if (chance(40)) d["status"] = {{"replicas", pick(3)}, {"readyReplicas", pick(3)}, {"conditions", json::array()}};
    if (chance(30))
      d["spec"]["template"]["spec"]["containers"] =
          json::array({{{"name", "vllm"}, {"image", "x"}, {"resources", {{"limits", {{"nvidia.com/gpu", pick(3)}}}}}}});
    if (chance(5)) d["metadata"].erase("resourceVersion");
    return d;
  }

  json va_object(const std::string& ns) {
    json v = variant_autoscaling(ns, "va" + std::to_string(pick(3)), "m/" + std::to_string(pick(2)));
    v["metadata"].update(meta(ns, v["metadata"]["name"]));
    // Kept packed: the status apart from the body, resourceVersion apart, numbers as integers or doubles
    // (equal as JSON, packed differently), what the cache drops, and statuses a write would leave.
    if (chance(40)) v["status"] = {{"phase", "p" + std::to_string(pick(2))}};
    if (chance(20))
      v["status"] = {{"desiredOptimizedAlloc", {{"numReplicas", chance(50) ? json(pick(3)) : json(1.5 * pick(3))}}},
                     {"conditions",
                      json::array({{{"type", "OptimizationReady"},
                                    {"status", chance(50) ? "True" : "False"},
                                    {"lastTransitionTime", "2026-01-01T00:00:0" + std::to_string(pick(3)) + "Z"}}})}};
    if (chance(5)) v["status"] = nullptr;
    if (chance(20)) v["spec"]["minReplicas"] = chance(50) ? json(1) : json(1.0);
    if (chance(15)) v["metadata"]["generation"] = pick(3);
    if (chance(20)) v["metadata"]["managedFields"] = json::array({{{"manager", "wva"}, {"operation", "Update"}}});
    if (chance(15))
      v["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"},
                                      {"note", "n" + std::to_string(pick(2))}};
    if (chance(5)) v["metadata"].erase("resourceVersion");
    if (chance(3)) v["metadata"]["resourceVersion"] = 7;  // not a string: kept as given, read as ""
    return v;
  }

  json object(const std::string& kind, const std::string& ns) {
    if (kind == "Pod") return pod_object(ns);
    if (kind == "ReplicaSet") return replica_set_object(ns);
    if (kind == "Deployment") return deployment_object(ns);
    return va_object(ns);
  }
};

struct Heard {
  std::vector<std::string> changes;
  std::vector<std::string> many;
  void reset() {
    changes.clear();
    many.clear();
  }
  std::vector<std::string> sorted() const {
    auto out = changes;
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::vector<std::string> dumps(const std::vector<sdk::ObjectSnapshot>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o ? o->dump() : "null");
  return out;
}

void expect_same(const ObjectStore& store, const ReferenceObjectStore& ref, const std::string& step) {
  for (const auto& kind : kKinds) {
    EXPECT_EQ(store.size(kind), ref.size(kind)) << step << " " << kind;
    for (const std::string& ns : {std::string(), kNamespaces[0], kNamespaces[1], kNamespaces[2]})
      EXPECT_EQ(dumps(store.list(kind, ns)), dumps(ref.list(kind, ns))) << step << " list " << kind << " " << ns;
    for (const auto& obj : ref.list(kind, "")) {
      const std::string ns = (*obj)["metadata"]["namespace"], name = (*obj)["metadata"]["name"];
      auto got = store.get(kind, ns, name);
      ASSERT_TRUE(got) << step << " get " << kind << " " << ns << "/" << name;
      EXPECT_EQ(got->dump(), ref.get(kind, ns, name)->dump()) << step;
      EXPECT_EQ(store.resource_version_of(kind, ns, name), ref.resource_version_of(kind, ns, name)) << step;
      // What a status write compares against: the version and status alone, the same as the object's.
      const auto status = store.cached_status(kind, ns, name);
      ASSERT_TRUE(status) << step;
      EXPECT_EQ(status->resource_version, ref.resource_version_of(kind, ns, name)) << step;
      const auto whole = ref.get(kind, ns, name);
      EXPECT_EQ(status->status ? status->status->dump() : "absent",
                whole->contains("status") ? (*whole)["status"].dump() : "absent")
          << step;
      if (kind == "Pod") {
        auto a = store.pod_owner(ns, name);
        auto b = ref.pod_owner(ns, name);
        ASSERT_TRUE(a && b) << step;
        EXPECT_EQ(*a, *b) << step << " pod_owner " << ns << "/" << name;
      }
    }
  }
  EXPECT_FALSE(store.get("Pod", "a", "missing"));
  EXPECT_FALSE(store.cached_status("VariantAutoscaling", "a", "missing"));
  // What the model views read of the Deployments: the records the store keeps beside the packed objects.
  std::vector<framework::DeploymentRecord> records;
  for (const auto& d : ref.list("Deployment", "")) records.push_back(framework::deployment_record_of(*d));
  const auto stored = store.deployment_records();
  ASSERT_EQ(stored.size(), records.size()) << step;
  for (std::size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(stored[i]) << step;
    EXPECT_EQ(*stored[i], records[i]) << step;
    const auto one = store.deployment_record(records[i].ns, records[i].name);
    EXPECT_EQ(one, stored[i]) << step << ": the same record, shared";
  }
  EXPECT_FALSE(store.deployment_record("a", "missing"));
  EXPECT_EQ(store.pod_owners(), ref.pod_owners()) << step;
}

TEST(ObjectStoreEquality, RandomListsWatchEventsAndDeletionsGiveWhatTheReferenceGave) {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    Generator gen{std::mt19937(seed)};
    Heard heard_new, heard_ref;
    auto listener = [](Heard& h) {
      return [&h](const std::string& kind, const std::string& ns, const std::string& name) {
        h.changes.push_back(kind + "/" + ns + "/" + name);
      };
    };
    auto many = [](Heard& h) { return [&h](const std::string& kind) { h.many.push_back(kind); }; };
    ObjectStore store(listener(heard_new), many(heard_new));
    ReferenceObjectStore ref(listener(heard_ref), many(heard_ref));
    for (int step = 0; step < 400; ++step) {
      heard_new.reset();
      heard_ref.reset();
      const std::string& kind = kKinds[static_cast<std::size_t>(gen.pick(4))];
      const std::string label = "seed " + std::to_string(seed) + " step " + std::to_string(step) + " " + kind;
      const int op = gen.pick(10);
      if (op < 2) {  // a full list of one namespace or all
        const std::string ns = gen.chance(50) ? std::string() : gen.ns();
        std::vector<json> objects;
        std::set<std::string> keys;
        for (int i = gen.pick(12); i > 0; --i) {
          json o = gen.object(kind, ns.empty() ? gen.ns() : ns);
          if (keys.insert(ObjectStore::key_of(o)).second) objects.push_back(std::move(o));
        }
        std::vector<ObjectStore::Entry> a;
        std::vector<reference::ReferenceObjectStore::Entry> b;
        for (const auto& o : objects) {
          a.push_back(store.make_entry(kind, o));
          b.push_back(ReferenceObjectStore::make_entry(kind, o));
        }
        store.replace(kind, ns, std::move(a));
        ref.replace(kind, ns, std::move(b));
      } else if (op < 7) {  // a watch event
        json o = gen.object(kind, gen.ns());
        store.upsert(kind, o);
        ref.upsert(kind, o);
      } else if (op < 8) {  // a write's answer, against the version it was written on
        json o = gen.object(kind, gen.ns());
        const std::string ns = o["metadata"]["namespace"], name = o["metadata"]["name"];
        const std::string expected = gen.chance(50) ? ref.resource_version_of(kind, ns, name) : "stale";
        store.upsert_if_version(kind, o, expected);
        ref.upsert_if_version(kind, o, expected);
      } else {  // a deletion of an object that may or may not exist
        json o = gen.object(kind, gen.ns());
        const std::string ns = o["metadata"]["namespace"], name = o["metadata"]["name"];
        store.remove(kind, ns, name);
        ref.remove(kind, ns, name);
      }
      EXPECT_EQ(heard_new.sorted(), heard_ref.sorted()) << label;
      EXPECT_EQ(heard_new.many, heard_ref.many) << label;
      expect_same(store, ref, label);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// A VariantAutoscaling is kept packed and unpacked for each reader: every read is a snapshot of its own,
// which later watch events leave as it was; a status write's answer (a new status and resourceVersion,
// the body as it was) is not heard as a change, and its version and status are read without the object.
TEST(ObjectStoreEquality, AVariantAutoscalingIsUnpackedFreshForEachReader) {
  int heard = 0;
  ObjectStore store([&](const std::string&, const std::string&, const std::string&) { ++heard; });
  json va = variant_autoscaling("llm", "va", "m/x");
  va["metadata"]["resourceVersion"] = "5";
  va["status"] = {{"phase", "p"}};
  store.upsert("VariantAutoscaling", va);
  EXPECT_EQ(heard, 1);
  const auto first = store.get("VariantAutoscaling", "llm", "va");
  const auto second = store.get("VariantAutoscaling", "llm", "va");
  ASSERT_TRUE(first && second);
  EXPECT_NE(first.get(), second.get());
  EXPECT_EQ(first->dump(), va.dump());
  json written = va;
  written["metadata"]["resourceVersion"] = "6";
  written["status"]["phase"] = "q";
  store.upsert_if_version("VariantAutoscaling", written, "5");
  EXPECT_EQ(heard, 1);                          // the status alone changed
  EXPECT_EQ((*first)["status"]["phase"], "p");  // what a reader holds stays as it was
  EXPECT_EQ(store.get("VariantAutoscaling", "llm", "va")->dump(), written.dump());
  EXPECT_EQ(store.cached_version("VariantAutoscaling", "llm", "va"), "6");
  const auto status = store.cached_status("VariantAutoscaling", "llm", "va");
  ASSERT_TRUE(status && status->status);
  EXPECT_EQ(status->resource_version, "6");
  EXPECT_EQ(*status->status, written["status"]);
  json respec = written;
  respec["metadata"]["resourceVersion"] = "7";
  respec["spec"]["modelID"] = "m/y";
  store.upsert("VariantAutoscaling", respec);
  EXPECT_EQ(heard, 2);  // the spec changed
}

// Pods of one ReplicaSet share one copy of their labels, owner references and conditions.
TEST(ObjectStoreEquality, PodsOfOneReplicaSetShareTheirInternedValues) {
  ObjectStore store;
  std::vector<ObjectStore::Entry> entries;
  for (int i = 0; i < 4; ++i)
    entries.push_back(store.make_entry("Pod", pod("llm", "llama-5f8c9", "llama", "p" + std::to_string(i))));
  ASSERT_TRUE(entries[0].pod && entries[3].pod);
  EXPECT_EQ(entries[0].pod->labels.get(), entries[3].pod->labels.get());
  EXPECT_EQ(entries[0].pod->owners.get(), entries[3].pod->owners.get());
  EXPECT_EQ(entries[0].pod->conditions.get(), entries[3].pod->conditions.get());
  auto other = store.make_entry("Pod", pod("llm", "other-5f8c9", "other", "p0"));
  EXPECT_NE(entries[0].pod->owners.get(), other.pod->owners.get());
  store.replace("Pod", "", std::move(entries));
  EXPECT_EQ(store.size("Pod"), 4u);
}

// The pool keeps a value while a record holds it and forgets it at a sweep once none does.
TEST(ObjectStoreEquality, InternPoolForgetsValuesNoOneHolds) {
  framework::kube::InternPool<std::string> pool;
  auto kept = pool.intern("kept");
  EXPECT_EQ(pool.intern("kept").get(), kept.get());
  for (int i = 0; i < 5000; ++i) pool.intern("gone-" + std::to_string(i));  // held by no one
  EXPECT_LT(pool.size(), 2100u);                                            // swept as it grew
  EXPECT_EQ(pool.intern("kept").get(), kept.get());
}

}  // namespace
}  // namespace wva::testing
