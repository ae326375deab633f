#include "host/pipeline_lane.h"

namespace wva::framework {

PipelineLane::PipelineLane(std::size_t workers) : pool_(workers), thread_([this] { loop(); }) {}

PipelineLane::~PipelineLane() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool PipelineLane::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

bool PipelineLane::submit(std::function<void()> cycle, std::function<void()> then) {
  {
    std::lock_guard lock(mutex_);
    if (busy_ || stopping_) return false;
    busy_ = true;
    task_ = std::move(cycle);
    then_ = std::move(then);
  }
  cv_.notify_all();
  return true;
}

void PipelineLane::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    // A submitted cycle runs even when stopping: the destructor waits for it.
    cv_.wait(lock, [&] { return stopping_ || busy_; });
    if (!busy_) return;
    auto task = std::move(task_);
    auto then = std::move(then_);
    task_ = nullptr;
    then_ = nullptr;
    lock.unlock();
    task();
    task = nullptr;  // what the cycle captured goes before the lane says it is free
    lock.lock();
    busy_ = false;
    lock.unlock();
    cv_.notify_all();
    if (then) then();
    lock.lock();
  }
}

}  // namespace wva::framework
