#pragma once
// The parts of checkpoint dump and restore that do not depend on the
// Trainer's types, compiled once (src/connectors/checkpoint_state.cpp).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "../../checkpoint/dict.hpp"
#include "../../detail/results.hpp"
#include "../../detail/trainer_link.hpp"
#include "../../loops/position.hpp"

namespace lightning::connectors::detail {

/// Lightning's `loops` entry (progress counters) as Lightning 2.2.5 writes it
/// at the same point, so that Python Lightning resumes the file at the same
/// epoch, batch and global_step.
checkpoint::Dict loops_state_dict(const lightning::detail::LoopProgress& progress, const loops::TrainingEpochState& state,
                                  bool automatic);
/// lightning_cpp.fit_state: the loop's position.
checkpoint::Dict fit_state_dict(const loops::TrainingEpochState& state, bool should_stop);
/// lightning_cpp.metrics: the published metric maps.
checkpoint::Dict metric_maps_state_dict(const lightning::detail::MetricMaps& maps);

/// The newest `last*.ckpt` in a `checkpoints` folder under `root` (empty,
/// with Lightning's warning, when there is none).
std::filesystem::path find_last_checkpoint(const std::filesystem::path& root);

/// The lightning_cpp entry of a checkpoint fit() can resume from: written
/// and verified by this library, not weights only.
checkpoint::Dict resumable_meta(const checkpoint::Dict& ckpt);

/// The loop state of a checkpoint, read and checked, nothing applied.
struct StagedLoop {
  int64_t epoch = 0, global_step = 0, total_batch_idx = 0;
  bool should_stop = false;
  loops::ResumePoint resume;
  lightning::detail::ResultCollection results;
  lightning::detail::MetricMaps metrics;
  std::vector<torch::Tensor> grads;  // accumulated, one per parameter (undefined: none); empty: none stored
  loops::LoopCounters counters;
  bool has_counters = false;
};
StagedLoop stage_loop(const checkpoint::Dict& ckpt, const checkpoint::Dict& meta, int64_t world_size,
                      const std::vector<torch::Tensor>& parameters, bool automatic = true);

/// The loop state of a checkpoint this library did not write (Python
/// Lightning's): the position from its `loops` progress counters, no
/// generator states, no logged values. Read and checked, nothing applied.
StagedLoop stage_foreign_loop(const checkpoint::Dict& ckpt, bool automatic);

/// Lightning's progress counters (the `loops` entry) into `s.counters`,
/// when the checkpoint has them (older files of this library do not).
void stage_counters(const checkpoint::Dict& ckpt, bool automatic, StagedLoop& s);

/// What a resume from a Lightning checkpoint cannot carry over.
extern const char* const kForeignResumeWarning;

}  // namespace lightning::connectors::detail
