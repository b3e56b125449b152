#pragma once
// The training epoch loop: its batches, each followed by what is due after
// it (validation, step schedulers, the logged row), then the epoch's end.
// It owns the loop's position, which a checkpoint stores so that a resumed
// run continues at the same point: the batches before it are skipped over in
// the same order and the generators restored (Lightning restarts the epoch).
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../callbacks/order.hpp"
#include "../checkpoint/dict.hpp"
#include "../checkpoint/rng.hpp"
#include "../connectors/data.hpp"
#include "../connectors/logging.hpp"
#include "../connectors/optimizers.hpp"
#include "../data/loader.hpp"
#include "../hooks.hpp"
#include "batches.hpp"
#include "position.hpp"
#include "evaluation.hpp"
#include "optimization/automatic.hpp"
#include "optimization/manual.hpp"

namespace lightning::loops {

template <class T>
class TrainingEpochLoop {
 public:
  explicit TrainingEpochLoop(T& t) : t_(t), state_(t.epoch_state_) {}

  /// One epoch; with `resume`, the epoch a checkpoint was taken in,
  /// continued from where it was.
  template <class TL, class VL>
  void run(TL& train, VL* val, const ResumePoint* resume) {
    const LoopPhase resumed = resume ? resume->position.phase : LoopPhase::idle;
    const bool mid = mid_epoch(resumed);
    auto& progress = t_.module_link_.progress;
    data::set_epoch(train, progress.current_epoch);
    if (!mid) t_.train_results_.reset();
    t_.module_link_.results = &t_.train_results_;
    t_.model_->train();
    state_.position = {LoopPhase::epoch_start, 0, false, false};
    if (!mid) {
      auto& c = state_.counters;  // Lightning resets these when an epoch starts
      c.epoch_batches = c.schedulers_epoch = c.val_epoch = 0;
      c.last_batch = false;
      c.epoch_start_step = progress.global_step;
      t_.template hook<hooks::on_train_epoch_start>();
    }

    auto&& source = connectors::Data<T>(t_).shard(train, /*even=*/true);
    // The loader's order may come from torch's generator (LibTorch's
    // RandomSampler): a resumed epoch replays the state it started with.
    if (mid && resume->epoch_start_rng.defined()) checkpoint::set_cpu_rng_state(resume->epoch_start_rng);
    state_.epoch_start_rng = checkpoint::cpu_rng_state();
    typename Batches<T>::template Walk<std::remove_reference_t<decltype(source)>> walk(t_, source, t_.num_training_batches_);
    t_.batch_idx_ = 0;
    bool more = agree(!walk.done());
    if (mid) more = resume_in_epoch(walk, val, *resume);
    while (more) {
      bool end_epoch = false, is_last = false, stepped = false;
      int64_t idx = 0;
      walk.take([&](auto& batch, int64_t batch_idx) {
        idx = batch_idx;
        state_.position = {LoopPhase::in_batch, batch_idx, false, false};
        // Without a known length the epoch ends on every rank at the first rank that runs out.
        is_last = agree_last(walk.last_taken());
        state_.position.is_last = is_last;
        end_epoch = !run_batch(batch, batch_idx, is_last, stepped);
      });
      if (end_epoch) break;  // on_train_batch_start returned -1
      more = finish_batch(val, idx, is_last, stepped, /*validate=*/true);
    }
    end(resumed == LoopPhase::epoch_end);
  }

 private:
  /// on_train_batch_start, the optimization, on_train_batch_end; false when
  /// on_train_batch_start asked to end the epoch.
  template <class B>
  bool run_batch(B& batch, int64_t batch_idx, bool is_last, bool& stepped) {
    // A background checkpoint write that failed stops the run before this
    // batch, not inside one (with several processes writes are synchronous).
    t_.checkpoint_io_.check();
    t_.template callback_hook<hooks::on_train_batch_start>(batch, batch_idx);
    if constexpr (hooks::on_train_batch_start::check_module<typename T::model_type, B&, int64_t&>()) {
      t_.enter(lightning::detail::Fx::on_train_batch_start);
      if constexpr (std::is_void_v<decltype(t_.model_->on_train_batch_start(batch, batch_idx))>) {
        t_.model_->on_train_batch_start(batch, batch_idx);
      } else {
        if (t_.model_->on_train_batch_start(batch, batch_idx) == -1) return false;
      }
    }
    auto result = optimization().run(batch, batch_idx, is_last);
    stepped = result.stepped;
    state_.position.phase = LoopPhase::after_batch;  // a checkpoint from here on resumes after this batch
    state_.position.stepped = stepped;
    t_.template hook<hooks::on_train_batch_end>(result.output, batch, batch_idx);
    return true;
  }

  auto optimization() {
    if constexpr (T::automatic_optimization) return AutomaticOptimization<T>(t_);
    else return ManualOptimization<T>(t_);
  }

  /// What follows a batch: validation when due, step schedulers, the logged
  /// row. Returns whether the epoch goes on.
  template <class VL>
  bool finish_batch(VL* val, int64_t batch_idx, bool is_last, bool stepped, bool validate) {
    // A stop asked for on one rank stops every rank at this batch (a rank
    // leaving alone would leave the others waiting in a collective).
    t_.should_stop = t_.strategy_.reduce_boolean_decision(t_.should_stop, /*all=*/false);
    // The step row before validation's, as Lightning writes them (a batch
    // resumed from a checkpoint taken in its validation wrote it already).
    if constexpr (T::loggers_type::size > 0)
      if (validate && stepped && (t_.module_link_.progress.global_step % t_.opts_.log_every_n_steps == 0))
        connectors::Logging<T>(t_).log_step();
    if constexpr (T::template validates<VL>) {
      if (validate && should_check_val(batch_idx, is_last)) {
        state_.position.phase = LoopPhase::in_validation;
        EvaluationLoop<T, false>(t_).run(*val, t_.num_val_batches_, /*sanity=*/false);
        t_.module_link_.results = &t_.train_results_;
        auto& c = state_.counters;
        c.val_run = t_.num_val_batches_;
        c.val_epoch += t_.num_val_batches_;
        c.val_ran = true;
      }
    }
    if (stepped) connectors::Optimizers<T>(t_).template step_schedulers<true>(Interval::step, batch_idx);
    ++state_.total_batch_idx;
    ++state_.counters.epoch_batches;
    state_.counters.last_batch = is_last;
    return !(t_.max_steps_reached() || (t_.should_stop && t_.can_stop_early())) && !is_last;
  }

  /// Lightning's `_should_check_val_fx`.
  bool should_check_val(int64_t batch_idx, bool is_last) const noexcept {
    if (t_.num_val_batches_ == 0) return false;
    const auto& every = t_.opts_.check_val_every_n_epoch;
    if (every && (t_.module_link_.progress.current_epoch + 1) % *every != 0) return false;
    if (t_.val_check_batch_ == lightning::detail::kUnbounded) return is_last;
    if (t_.should_stop && t_.can_stop_early()) return true;
    const int64_t it = every ? batch_idx : state_.total_batch_idx;
    return (it + 1) % t_.val_check_batch_ == 0;
  }

  /// A resumed epoch: skips the batches the checkpoint's run had taken,
  /// restores the generators, and finishes the batch it was taken after.
  /// Returns whether batches remain.
  template <class Walk, class VL>
  bool resume_in_epoch(Walk& walk, VL* val, const ResumePoint& resume) {
    const LoopPosition& at = resume.position;
    if (at.phase == LoopPhase::epoch_end) {
      checkpoint::set_rng_state(resume.rng);
      return false;
    }
    if (t_.num_training_batches_ != lightning::detail::kUnbounded && at.batch_idx >= t_.num_training_batches_)
      throw CheckpointError("lightning: the checkpoint was taken at batch " + std::to_string(at.batch_idx) +
                            " of an epoch that has " + std::to_string(t_.num_training_batches_) +
                            " batches here: resume with the same training data and limit_train_batches");
    const bool batch_done = at.phase != LoopPhase::in_batch;
    walk.skip(at.batch_idx + (batch_done ? 1 : 0));
    checkpoint::set_rng_state(resume.rng);
    if (!batch_done) return !walk.done();
    state_.position = at;
    t_.batch_idx_ = at.batch_idx;
    const bool more = finish_batch(val, at.batch_idx, at.is_last, at.stepped, at.phase == LoopPhase::after_batch);
    return more && !walk.done();
  }

  /// The epoch's end: on_train_epoch_end in Lightning's order, the epoch
  /// schedulers and the epoch row. `already` (a checkpoint taken after the
  /// hooks ran) skips the hooks.
  void end(bool already) {
    auto& progress = t_.module_link_.progress;
    state_.position.phase = LoopPhase::epoch_end;
    if (!already) {
      // Epoch values are visible to on_train_epoch_end, and values it logs are too.
      t_.train_results_.publish_epoch(t_.published_metrics_);
      t_.template callback_hook<hooks::on_train_epoch_end, CallbackOrder::plain>();
      t_.template module_hook<hooks::on_train_epoch_end>();
      t_.template callback_hook<hooks::on_train_epoch_end, CallbackOrder::monitoring>();
      t_.template callback_hook<hooks::on_train_epoch_end, CallbackOrder::checkpoint>();
    }
    t_.train_results_.publish_epoch(t_.published_metrics_);
    connectors::Optimizers<T>(t_).template step_schedulers<true>(Interval::epoch, progress.current_epoch);
    connectors::Logging<T>(t_).log_epoch(t_.train_results_);
    // A stop asked for on one rank (the module, a callback) stops them all.
    t_.should_stop = t_.strategy_.reduce_boolean_decision(t_.should_stop, /*all=*/false);
    // An earlier background checkpoint write that failed stops the run here,
    // before the next epoch's hooks (the next batch's check would come after them).
    t_.checkpoint_io_.check();
  }

  /// With several processes and no known length, ranks agree whether
  /// batches remain (one has no more: none goes on).
  bool agree(bool more) {
    if (t_.strategy_.world_size() > 1 && !t_.train_length_known_)
      return t_.strategy_.reduce_boolean_decision(more, /*all=*/true);
    return more;
  }
  bool agree_last(bool is_last) { return !agree(!is_last); }

  T& t_;
  TrainingEpochState& state_;
};

}  // namespace lightning::loops
