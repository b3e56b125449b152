#pragma once
// A writer thread for file work the training loop should not wait for
// (checkpoints: serialize, write, fsync, rename). Jobs run one at a time in
// the order they were submitted, so a removal queued after a write runs only
// once that write is durable. The queue is bounded: a write waits while
// max_pending writes wait, so memory held by pending snapshots stays bounded;
// a removal holds no snapshot and waits only behind kMaxPendingRemovals
// others (a save followed by the removal of the file it replaces must not
// put the training thread to sleep until the writer has taken the save).
// After a job fails, the jobs queued behind it are dropped (a removal must
// never follow a failed write) and the error is rethrown by the next
// submit(), rethrow_if_failed() or wait().
//
// A job that has run (and what it holds: a snapshot) is destroyed by the
// submitting side, at its next release_if_finished(), submit() or wait(),
// not by the writer: the snapshot was allocated there, and freeing it on
// the writer thread made the two threads contend for the allocator. Jobs
// move between lists by splicing, so the writer thread never allocates for
// them.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

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

  /// Destroys, on the calling thread, the jobs that have run.
  void release_finished();
  /// release_finished() if a job has run since (one atomic load otherwise).
  void release_if_finished() {
    if (has_finished_.load(std::memory_order_acquire)) release_finished();
  }

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
  std::list<Job> queue_;
  std::list<Job> running_;   // the job being run, if any (read by others under m_ only)
  std::list<Job> finished_;  // run or dropped, waiting for release_finished()
  std::atomic<bool> has_finished_{false};
  bool stop_ = false;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace lightning::detail
