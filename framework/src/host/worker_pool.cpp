#include "host/worker_pool.h"

namespace wva::framework {

WorkerPool::WorkerPool(std::size_t threads) {
  const std::size_t extra = threads > 1 ? threads - 1 : 0;
  for (std::size_t i = 0; i < extra; ++i) threads_.emplace_back([this] { worker_loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::parallel_for(std::size_t count, const std::function<void(std::size_t)>& fn) {
  if (count == 0) return;
  std::unique_lock lock(mutex_);
  job_ = &fn;
  next_ = 0;
  count_ = count;
  finished_ = 0;
  ++generation_;
  work_cv_.notify_all();
  // The caller works too.
  while (next_ < count_) {
    std::size_t i = next_++;
    lock.unlock();
    fn(i);
    lock.lock();
    ++finished_;
  }
  done_cv_.wait(lock, [&] { return finished_ == count_; });
  job_ = nullptr;
}

void WorkerPool::worker_loop() {
  std::size_t seen = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || (job_ && generation_ != seen && next_ < count_); });
    if (stopping_) return;
    seen = generation_;
    while (job_ && next_ < count_) {
      std::size_t i = next_++;
      const auto* fn = job_;
      lock.unlock();
      (*fn)(i);
      lock.lock();
      if (++finished_ == count_) done_cv_.notify_all();
    }
  }
}

}  // namespace wva::framework
