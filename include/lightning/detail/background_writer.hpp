#pragma once
// A writer thread for file work the training loop should not wait for
// (checkpoints: serialize, write, fsync, rename). Jobs run one at a time in
// the order they were submitted, so a removal queued after a write runs only
// once that write is durable. The queue is bounded: a write waits while
// max_pending writes wait, so memory held by pending snapshots stays bounded;
// a removal holds no snapshot and waits only behind kMaxPendingRemovals
// others (a save and the removal of the file it replaces, one after the
// other, must not put the training thread to sleep until the writer thread
// has woken up and taken the save: on these VMs that sleep and wake-up cost
// ~200 us per epoch). After a job
// fails, the jobs queued behind it are dropped (a removal must never follow
// a failed write) and the error is rethrown by the next submit(),
// rethrow_if_failed() or wait().
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lightning::detail {

class BackgroundWriter {
 public:
  /// `max_pending`: writes waiting (not counting the one running), at least 1.
  explicit BackgroundWriter(std::size_t max_pending);
  /// Finishes every queued job; an error nobody collected goes to stderr.
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  /// What a job does to its file.
  enum class Effect { writes, removes };

  /// Queues `job`, which `effect`s the file `path` (what pending() and
  /// last_pending() match). Rethrows an earlier job's error instead of queuing.
  void submit(std::filesystem::path path, std::function<void()> job, Effect effect = Effect::writes);

  /// Returns once every submitted job has run; rethrows the first error.
  void wait();

  /// Destroys, on the calling thread, the jobs that have run (and the
  /// snapshots they hold). submit() and wait() do it too. Memory is freed
  /// by the thread that allocated it: the writer freeing the training
  /// thread's snapshot (~1,600 blocks) held glibc's main-arena lock against
  /// that thread's own allocations, which slowed its next steps ~2x.
  void release_finished();

  /// Rethrows a failed job's error, if any (one atomic load otherwise).
  void rethrow_if_failed() {
    if (failed_.load(std::memory_order_acquire)) rethrow();
  }

  /// Whether a queued or running job touches `path`.
  bool pending(const std::filesystem::path& path) const { return last_pending(path).has_value(); }
  /// What the last queued (or the running) job touching `path` does to it.
  std::optional<Effect> last_pending(const std::filesystem::path& path) const;

 private:
  struct Job {
    std::filesystem::path path;
    std::function<void()> run;
    Effect effect = Effect::writes;
  };
  void loop();
  void rethrow();

  static constexpr std::size_t kMaxPendingRemovals = 64;
  bool has_room(Effect effect) const {
    return effect == Effect::writes ? pending_writes_ < max_pending_
                                    : queue_.size() - pending_writes_ < kMaxPendingRemovals;
  }

  const std::size_t max_pending_;
  std::size_t pending_writes_ = 0;  // in queue_
  mutable std::mutex m_;
  std::condition_variable has_work_, has_room_, idle_;
  std::deque<Job> queue_;
  std::vector<Job> finished_;  // run, waiting for release_finished()
  std::filesystem::path running_;
  Effect running_effect_ = Effect::writes;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace lightning::detail
