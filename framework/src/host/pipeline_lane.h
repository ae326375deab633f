// One pipeline's cycles on a thread of their own, so that a slow or hung cycle of one pipeline never
// delays another's (host.h). A lane runs one cycle at a time with its own worker pool; every plugin
// call in a cycle has a deadline, so a cycle in flight always ends.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

#include "host/worker_pool.h"

namespace wva::framework {

class PipelineLane {
 public:
  explicit PipelineLane(std::size_t workers);
  // Waits for the cycle in flight, then ends the thread.
  ~PipelineLane();
  PipelineLane(const PipelineLane&) = delete;
  PipelineLane& operator=(const PipelineLane&) = delete;

  bool busy() const;
  // Runs `cycle` on the lane's thread, then `then` once the lane is free again (so whoever `then` tells
  // may submit the next); false (nothing runs) while the previous one is still running.
  bool submit(std::function<void()> cycle, std::function<void()> then);
  WorkerPool& pool() { return pool_; }

 private:
  void loop();

  WorkerPool pool_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> task_;
  std::function<void()> then_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wva::framework
