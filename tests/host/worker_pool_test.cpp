#include <gtest/gtest.h>

#include <atomic>

#include "host/worker_pool.h"

namespace wva::framework {
namespace {

TEST(WorkerPool, RunsEveryIndexExactlyOnceAcrossManyJobs) {
  WorkerPool pool(4);
  for (int job = 0; job < 50; ++job) {
    std::vector<std::atomic<int>> hits(97);
    pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(WorkerPool, ZeroItemsAndSingleThreadWork) {
  WorkerPool single(1);
  int sum = 0;
  single.parallel_for(0, [&](std::size_t) { sum += 100; });
  single.parallel_for(10, [&](std::size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(sum, 45);
}

}  // namespace
}  // namespace wva::framework
