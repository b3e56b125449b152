#pragma once
// Where the fit loop is: what a checkpoint taken at any point must carry so
// that a resumed run continues there.
#include <torch/torch.h>

#include <cstdint>

#include "../checkpoint/dict.hpp"

namespace lightning::loops {

/// Where the fit loop is. Stored in checkpoints: the values never change.
enum class LoopPhase : int64_t { idle = 0, epoch_start = 1, in_batch = 2, after_batch = 3, in_validation = 4, epoch_end = 5 };

inline constexpr bool is_loop_phase(int64_t v) noexcept { return v >= 0 && v <= 5; }

/// A phase with work left in the current epoch.
inline constexpr bool mid_epoch(LoopPhase p) noexcept { return p != LoopPhase::idle && p != LoopPhase::epoch_start; }

struct LoopPosition {
  LoopPhase phase = LoopPhase::idle;
  int64_t batch_idx = 0;
  bool is_last = false, stepped = false;
};

/// The epoch loop's state kept between calls (a checkpoint may be taken
/// from a callback at any point, or after fit).
/// Lightning's progress counters that its `loops` checkpoint entry holds
/// beyond the position (see connectors/detail/checkpoint_state.hpp).
struct LoopCounters {
  int64_t epoch_batches = 0;     // batches finished in this (or, between epochs, the last) epoch
  bool last_batch = false;       // the last batch finished was the epoch's last
  int64_t epoch_start_step = 0;  // global_step when this epoch started
  int64_t schedulers_total = 0, schedulers_epoch = 0;  // scheduler steps
  int64_t val_epoch = 0, val_run = 0;                  // validation batches this epoch, in the last run
  bool val_ran = false;
};

struct TrainingEpochState {
  LoopPosition position;
  int64_t total_batch_idx = 0;  // batches over all epochs (validation by total count)
  LoopCounters counters;
  torch::Tensor epoch_start_rng;  // the generator at the epoch's start: a mid-epoch resume replays the order
};

/// A fit resumed from a checkpoint: where, and the generator states to restore there.
struct ResumePoint {
  LoopPosition position;
  checkpoint::Dict rng = checkpoint::make_dict();
  torch::Tensor epoch_start_rng;
};

}  // namespace lightning::loops
