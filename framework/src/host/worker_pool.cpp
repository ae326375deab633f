#include "host/worker_pool.h"

#include <algorithm>
#include <deque>
#include <map>

namespace wva::framework {

// One run(): its items, handed out in order, each pending, running, done or abandoned.
struct WorkerPool::Batch {
  enum class State : char { kPending, kRunning, kDone, kAbandoned };
  std::shared_ptr<const PoolJob> job;
  std::size_t count = 0;
  std::size_t next = 0;     // the next item to hand out
  std::size_t settled = 0;  // done or abandoned
  std::vector<State> state;
  std::vector<std::chrono::steady_clock::time_point> started;
  std::vector<std::size_t> runner;  // the worker running item i
  std::condition_variable settled_cv;
};

// Co-owned by every thread, stuck ones included, so a thread that returns after the pool is gone is safe.
struct WorkerPool::Shared {
  std::mutex mutex;
  std::condition_variable work_cv;
  std::deque<std::shared_ptr<Batch>> queue;  // batches with items not handed out yet
  bool stopping = false;
  std::map<std::size_t, std::thread> threads;  // the live workers, by id
  std::size_t next_id = 0;
  std::size_t stuck = 0;

  // Starts a worker; the caller holds the lock.
  void spawn(const std::shared_ptr<Shared>& self) {
    const std::size_t id = next_id++;
    threads.emplace(id, std::thread([self, id] { self->loop(id); }));
  }

  void loop(std::size_t id) {
    std::unique_lock lock(mutex);
    while (true) {
      work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      const std::shared_ptr<Batch> batch = queue.front();
      const std::size_t i = batch->next++;
      if (batch->next == batch->count) queue.pop_front();
      batch->state[i] = Batch::State::kRunning;
      batch->started[i] = std::chrono::steady_clock::now();
      batch->runner[i] = id;
      lock.unlock();
      batch->job->item(i);
      lock.lock();
      if (batch->state[i] == Batch::State::kAbandoned) {
        // This thread was replaced while it was stuck (and detached): it ends here.
        --stuck;
        lock.unlock();
        if (batch->job->on_late_return) batch->job->on_late_return(i);
        return;
      }
      batch->state[i] = Batch::State::kDone;
      if (++batch->settled == batch->count) batch->settled_cv.notify_all();
    }
  }
};

WorkerPool::WorkerPool(std::size_t threads)
    : shared_(std::make_shared<Shared>()), size_(std::max<std::size_t>(1, threads)) {
  std::lock_guard lock(shared_->mutex);
  for (std::size_t i = 0; i < size_; ++i) shared_->spawn(shared_);
}

WorkerPool::~WorkerPool() {
  std::map<std::size_t, std::thread> threads;
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
    threads = std::move(shared_->threads);
  }
  shared_->work_cv.notify_all();
  for (auto& [id, t] : threads) t.join();
}

std::size_t WorkerPool::stuck_threads() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->stuck;
}

std::vector<bool> WorkerPool::run(std::size_t count, std::shared_ptr<const PoolJob> job,
                                  std::optional<std::chrono::milliseconds> budget) {
  std::vector<bool> abandoned(count, false);
  if (count == 0) return abandoned;
  auto batch = std::make_shared<Batch>();
  batch->job = std::move(job);
  batch->count = count;
  batch->state.assign(count, Batch::State::kPending);
  batch->started.resize(count);
  batch->runner.resize(count);
  Shared& sh = *shared_;
  std::unique_lock lock(sh.mutex);
  sh.queue.push_back(batch);
  sh.work_cv.notify_all();
  if (!budget) {
    batch->settled_cv.wait(lock, [&] { return batch->settled == count; });
    return abandoned;
  }
  while (batch->settled < count) {
    const auto now = std::chrono::steady_clock::now();
    // Items started before now - budget are past their deadline; the earliest other deadline is the next wake.
    auto wake = now + *budget;
    for (std::size_t i = 0; i < count; ++i) {
      if (batch->state[i] != Batch::State::kRunning) continue;
      const auto deadline = batch->started[i] + *budget;
      if (deadline > now) {
        wake = std::min(wake, deadline);
        continue;
      }
      batch->state[i] = Batch::State::kAbandoned;
      abandoned[i] = true;
      ++batch->settled;
      ++sh.stuck;
      if (batch->job->on_abandon) batch->job->on_abandon(i);
      // Replace the stuck thread: the pool keeps its size, the stuck one ends when its item returns.
      if (auto it = sh.threads.find(batch->runner[i]); it != sh.threads.end()) {
        it->second.detach();
        sh.threads.erase(it);
      }
      sh.spawn(shared_);
    }
    if (batch->settled == count) break;
    batch->settled_cv.wait_until(lock, wake, [&] { return batch->settled == count; });
  }
  return abandoned;
}

void WorkerPool::parallel_for(std::size_t count, const std::function<void(std::size_t)>& fn) {
  // Nothing is abandoned without a budget, so the job may borrow fn.
  run(count, std::make_shared<PoolJob>(PoolJob{[&fn](std::size_t i) { fn(i); }, {}, {}}));
}

}  // namespace wva::framework
