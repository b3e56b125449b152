#pragma once
// `module.trainer()`: what Lightning code reads as `self.trainer.<x>`, for the
// Trainer that is running the module now. Read-only and type-erased (the
// module's type does not depend on the Trainer's); a call through it is an
// indirect call, made only where the module asks, never in the loop.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "detail/trainer_link.hpp"

namespace lightning {

class TrainerView {
 public:
  /// Filled by each Trainer type once (see Trainer::view_ops).
  struct Ops {
    int64_t (*max_epochs)(void*);
    int64_t (*max_steps)(void*);
    int64_t (*estimated_stepping_batches)(void*);
    int64_t (*num_training_batches)(void*);
    bool (*is_global_zero)(void*);
    int64_t (*world_size)(void*);
    int64_t (*global_rank)(void*);
    std::string (*log_dir)(void*);
    const std::map<std::string, torch::Tensor>& (*callback_metrics)(void*);
    bool (*should_stop)(void*);
  };

  TrainerView(void* trainer, const Ops* ops, const detail::LoopProgress* progress) noexcept
      : trainer_(trainer), ops_(ops), progress_(progress) {}

  int64_t max_epochs() const { return ops_->max_epochs(trainer_); }
  int64_t max_steps() const { return ops_->max_steps(trainer_); }
  /// Optimizer steps the whole fit will take (Lightning's rule: batches per
  /// epoch / accumulate_grad_batches * max_epochs, capped by max_steps); for
  /// OneCycleLR's total_steps in configure_optimizers. INT64_MAX: unbounded.
  int64_t estimated_stepping_batches() const { return ops_->estimated_stepping_batches(trainer_); }
  int64_t num_training_batches() const { return ops_->num_training_batches(trainer_); }
  bool is_global_zero() const { return ops_->is_global_zero(trainer_); }
  int64_t world_size() const { return ops_->world_size(trainer_); }
  int64_t global_rank() const { return ops_->global_rank(trainer_); }
  /// The first logger's directory, else default_root_dir.
  std::string log_dir() const { return ops_->log_dir(trainer_); }
  const std::map<std::string, torch::Tensor>& callback_metrics() const { return ops_->callback_metrics(trainer_); }
  bool should_stop() const { return ops_->should_stop(trainer_); }

  int64_t current_epoch() const noexcept { return progress_->current_epoch; }
  int64_t global_step() const noexcept { return progress_->global_step; }
  bool sanity_checking() const noexcept { return progress_->sanity_checking; }
  bool training() const noexcept { return progress_->training; }
  bool validating() const noexcept { return progress_->validating; }
  bool testing() const noexcept { return progress_->testing; }
  bool predicting() const noexcept { return progress_->predicting; }

 private:
  void* trainer_;
  const Ops* ops_;
  const detail::LoopProgress* progress_;
};

}  // namespace lightning
