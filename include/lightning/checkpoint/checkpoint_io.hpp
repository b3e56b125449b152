#pragma once
// How the Trainer's checkpoints reach the disk, a Trainer policy as
// Lightning's CheckpointIO plugins are:
//   AsyncCheckpointIO (the default): the state is copied when the checkpoint
//     is taken, then pickled, written, fsync'ed and renamed on a writer
//     thread while training goes on. Removals of replaced checkpoints queue
//     behind the writes, so a file is removed only once its successor is
//     durable. A failed write is rethrown before the next training batch,
//     at the next save, or when the stage ends; fit, validate, test and
//     predict return only after the last write is durable.
//   TorchCheckpointIO: every save is written and durable before it returns
//     (Lightning's default).
// Both write the same bytes (checkpoint::write): atomic, with the digest.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

#include "../detail/background_writer.hpp"
#include "../policies/kinds.hpp"
#include "dict.hpp"

namespace lightning {

class TorchCheckpointIO {
 public:
  using policy_kind = lightning::policy_kind::checkpoint_io;

  void save_checkpoint(checkpoint::Dict ckpt, const std::filesystem::path& path);
  /// Removes `path` if `only_if` (checked just before removing) allows it.
  void remove_checkpoint(const std::filesystem::path& path, std::function<bool()> only_if = {});
  bool exists(const std::filesystem::path& path) const;
  void check() noexcept {}
  void teardown() noexcept {}
};

class AsyncCheckpointIO {
 public:
  using policy_kind = lightning::policy_kind::checkpoint_io;

  struct Options {
    /// Checkpoints copied and waiting behind the one being written; a save
    /// beyond them waits (a removal holds no copy and does not count). Each
    /// holds a copy of the state in memory: at most max_pending + 2 copies
    /// exist at once (the one being written, those waiting, and the one a
    /// waiting save has just taken). A written copy is freed before the
    /// next training batch, or at the next save or the stage's end.
    std::size_t max_pending = 1;
  };

  AsyncCheckpointIO() = default;
  explicit AsyncCheckpointIO(Options o) : opts_(o) {}
  AsyncCheckpointIO(AsyncCheckpointIO&&) noexcept = default;
  /// Assigning over, or destroying, an AsyncCheckpointIO waits for its
  /// queued writes; an error nobody collected with teardown() goes to stderr.
  AsyncCheckpointIO& operator=(AsyncCheckpointIO&&) noexcept;
  ~AsyncCheckpointIO();

  /// Copies the state now (checkpoint::snapshot), writes it in the background.
  void save_checkpoint(checkpoint::Dict ckpt, const std::filesystem::path& path);
  /// Queued behind the writes before it; `only_if` runs just before removing.
  void remove_checkpoint(const std::filesystem::path& path, std::function<bool()> only_if = {});
  /// Whether `path` will exist once the queued operations have run (a
  /// queued write: yes; a queued removal: waits for it).
  bool exists(const std::filesystem::path& path) const;
  /// Rethrows a background write's error; frees the copies already written
  /// (here, on the training thread, before its next batch).
  void check() {
    if (!writer_) return;
    writer_->rethrow_if_failed();
    writer_->release_if_finished();
  }
  /// Returns once every queued write is durable; rethrows a write's error.
  void teardown();

  const Options& options() const noexcept { return opts_; }

 private:
  detail::BackgroundWriter& writer();

  Options opts_;
  std::unique_ptr<detail::BackgroundWriter> writer_;  // started by the first save
};

}  // namespace lightning
