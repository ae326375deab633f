// A pool of threads that runs the analyze() calls of different models in parallel. With a budget, an
// item still running past it is abandoned: the caller stops waiting for it, the thread stuck in it is
// replaced by a fresh one (the pool keeps its size) and ends by itself when the item returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace wva::framework {

// What run() runs. Abandoned items keep running on their threads, which co-own the job: `item` and
// everything it uses must be owned or co-owned by it.
struct PoolJob {
  std::function<void(std::size_t)> item;
  // Called under the pool's lock the moment item i is abandoned (before run() returns).
  std::function<void(std::size_t)> on_abandon;
  // Called by the thread of an abandoned item i when it finally returns (after on_abandon(i)).
  std::function<void(std::size_t)> on_late_return;
};

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);
  // Joins the threads it runs; threads stuck in abandoned items are left to end by themselves.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs job->item(0) .. item(count-1) on the pool's threads and waits until each returned, or, with a
  // budget, ran longer than the budget (counted from its start). Returns, per item, whether it was
  // abandoned. Several callers may run jobs at once (their items share the threads).
  std::vector<bool> run(std::size_t count, std::shared_ptr<const PoolJob> job,
                        std::optional<std::chrono::milliseconds> budget = std::nullopt);
  // Runs fn(0) .. fn(count-1) on the pool; returns when all are done. fn must not throw.
  void parallel_for(std::size_t count, const std::function<void(std::size_t)>& fn);
  std::size_t size() const { return size_; }
  // Threads stuck in abandoned items that have not returned yet.
  std::size_t stuck_threads() const;

 private:
  struct Shared;
  struct Batch;
  std::shared_ptr<Shared> shared_;
  std::size_t size_;
};

}  // namespace wva::framework
