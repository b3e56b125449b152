// The checkpoint writer thread (see background_writer.hpp).
#include "lightning/detail/background_writer.hpp"

#include <pthread.h>

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace lightning::detail {

BackgroundWriter::BackgroundWriter(std::size_t max_pending)
    : max_pending_(max_pending < 1 ? 1 : max_pending), thread_([this] { loop(); }) {}

BackgroundWriter::~BackgroundWriter() {
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  has_work_.notify_one();
  thread_.join();
  if (error_) {
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lightning: a background checkpoint write failed and nobody was left to report it: %s\n",
                   e.what());
    } catch (...) {
      std::fprintf(stderr, "lightning: a background checkpoint write failed with an unknown error\n");
    }
  }
}

void BackgroundWriter::loop() {
  ::pthread_setname_np(::pthread_self(), "lightning-io");  // in top, gdb and perf
  std::unique_lock lock(m_);
  for (;;) {
    has_work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_, and everything done
    running_.splice(running_.end(), queue_, queue_.begin());
    Job& job = running_.front();
    if (job.effect == Effect::writes) --pending_writes_;
    lock.unlock();
    has_room_.notify_all();  // a waiting write and a waiting removal wait for different room
    std::exception_ptr err;
    try {
      job.run();
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    finished_.splice(finished_.end(), running_);
    if (err) {
      std::size_t writes = 0, removals = 0;
      for (const auto& j : queue_) ++(j.effect == Effect::writes ? writes : removals);
      finished_.splice(finished_.end(), queue_);  // dropped
      pending_writes_ = 0;
      error_ = err;  // as thrown (a CheckpointError stays one), unless there is more to say
      if (writes + removals > 0) {
        try {
          std::rethrow_exception(err);
        } catch (const std::exception& e) {
          error_ = std::make_exception_ptr(std::runtime_error(
              std::string(e.what()) + " (not run after it, so that no file is removed after a failed write: " +
              std::to_string(writes) + " queued checkpoint write(s), " + std::to_string(removals) +
              " removal(s))"));
        } catch (...) {
        }
      }
      failed_.store(true, std::memory_order_release);
    }
    has_finished_.store(true, std::memory_order_release);
    if (queue_.empty()) idle_.notify_all();
    if (err) has_room_.notify_all();  // every waiting submit() sees the error
  }
}

void BackgroundWriter::release_finished() {
  std::list<Job> done;
  {
    std::lock_guard lock(m_);
    done.swap(finished_);
    has_finished_.store(false, std::memory_order_relaxed);
  }
}  // destroyed here, outside the lock

void BackgroundWriter::submit(std::filesystem::path path, std::function<void()> job, Effect effect) {
  release_finished();
  std::unique_lock lock(m_);
  has_room_.wait(lock, [&] { return has_room(effect) || error_; });
  if (error_) {
    lock.unlock();
    rethrow();
  }
  queue_.push_back({std::move(path), std::move(job), effect});
  if (effect == Effect::writes) ++pending_writes_;
  lock.unlock();
  has_work_.notify_one();
}

void BackgroundWriter::wait() {
  {
    std::unique_lock lock(m_);
    idle_.wait(lock, [&] { return queue_.empty() && running_.empty(); });
  }
  release_finished();
  rethrow_if_failed();
}

void BackgroundWriter::rethrow() {
  std::exception_ptr err;
  {
    std::lock_guard lock(m_);
    err = std::exchange(error_, nullptr);
    failed_.store(false, std::memory_order_release);
  }
  if (err) std::rethrow_exception(err);
}

std::optional<BackgroundWriter::Effect> BackgroundWriter::last_pending(const std::filesystem::path& path) const {
  std::lock_guard lock(m_);
  for (auto it = queue_.rbegin(); it != queue_.rend(); ++it)
    if (it->path == path) return it->effect;
  if (!running_.empty() && running_.front().path == path) return running_.front().effect;
  return std::nullopt;
}

}  // namespace lightning::detail
