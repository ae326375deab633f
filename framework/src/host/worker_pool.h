// A fixed pool of threads that runs the analyzer chains of different models in parallel.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wva::framework {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs fn(0) .. fn(count-1) across the pool and the calling thread; returns when all are done.
  // fn must not throw (callers wrap plugin calls).
  void parallel_for(std::size_t count, const std::function<void(std::size_t)>& fn);
  std::size_t size() const { return threads_.size() + 1; }

 private:
  void worker_loop();

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  std::size_t finished_ = 0;
  std::size_t generation_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace wva::framework
