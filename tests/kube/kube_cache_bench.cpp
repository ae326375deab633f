// The informer cache's own memory (ObjectStore, no API server round trips): N VariantAutoscalings, each
// with 3 Deployments (and their ReplicaSets) of 4 pods, as FakeApiServer serves them (uid,
// resourceVersion, creationTimestamp, generation added), installed kind by kind as the informers' first
// lists install them. Reported per kind: the heap the cache holds for that kind (mallinfo2's in-use bytes
// before the list is read, less after it is installed and its own JSON freed) in MB and in bytes per object; then the
// time of the reads the host makes of the whole cache (list_shared of Deployments and VAs, pod owners).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <time.h>

#include <chrono>
#include <string>
#include <vector>

#include "cluster/kube/object_store.h"
#include "fake_apiserver.h"
#include "kube_objects.h"

namespace {

using namespace wva::testing;
using wva::framework::kube::ObjectStore;

void seed(FakeApiServer& server, int models) {
  for (int m = 0; m < models; ++m) {
    const std::string label = "org.model-" + std::to_string(m);
    server.create(variant_autoscaling("bench", "va-" + std::to_string(m), "org/model-" + std::to_string(m)));
    for (int v = 0; v < 3; ++v) {
      const std::string name = "model-" + std::to_string(m) + "-v" + std::to_string(v);
      server.create(deployment("bench", name, 4, label));
      server.create(replicaset("bench", name, "6b7c"));
      for (int p = 0; p < 4; ++p) server.create(pod("bench", name + "-6b7c", name, "p" + std::to_string(p)));
    }
  }
}

double heap_in_use() { return static_cast<double>(mallinfo2().uordblks); }

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void BM_CacheMemory(benchmark::State& state) {
  FakeApiServer server;
  seed(server, static_cast<int>(state.range(0)));
  server.compact();
  for (auto _ : state) {
    ObjectStore store;
    for (const char* kind : {"VariantAutoscaling", "Deployment", "ReplicaSet", "Pod"}) {
      const double before = heap_in_use();
      std::vector<nlohmann::json> served = server.list(kind);
      const double count = static_cast<double>(served.size());
      {
        std::vector<ObjectStore::Entry> entries;
        entries.reserve(served.size());
        // The informer consumes each listed object; the served copies stand in for the list's JSON.
        for (auto& obj : served) entries.push_back(store.make_entry(kind, std::move(obj)));
        served.clear();
        served.shrink_to_fit();
        store.replace(kind, "", std::move(entries));
      }
      const double held = heap_in_use() - before;
      state.counters[std::string(kind) + "_MB"] = held / 1e6;
      state.counters[std::string(kind) + "_B_per_object"] = held / count;
    }
    // What the host's full rebuild reads: every Deployment (unpacked: nobody holds one yet), every VA,
    // every pod's owner; then the Deployments again while the first read still holds them (shared).
    double t = thread_cpu_ms();
    auto deployments = store.list("Deployment", "");
    state.counters["read_deployments_cpu_ms"] = thread_cpu_ms() - t;
    t = thread_cpu_ms();
    auto again = store.list("Deployment", "");
    state.counters["reread_held_deployments_cpu_ms"] = thread_cpu_ms() - t;
    t = thread_cpu_ms();
    auto vas = store.list("VariantAutoscaling", "");
    state.counters["read_vas_cpu_ms"] = thread_cpu_ms() - t;
    t = thread_cpu_ms();
    auto owners = store.pod_owners();
    state.counters["read_pod_owners_cpu_ms"] = thread_cpu_ms() - t;
    benchmark::DoNotOptimize(deployments.data());
    benchmark::DoNotOptimize(again.data());
    benchmark::DoNotOptimize(vas.data());
    benchmark::DoNotOptimize(owners.data());
  }
}
BENCHMARK(BM_CacheMemory)->Arg(1000)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
