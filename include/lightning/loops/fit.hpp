#pragma once
// The fit loop: setup, the optimizers, a checkpoint's restore, the sanity
// check, then training epochs until max_epochs, max_steps or a stop.
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <type_traits>

#include "../checkpoint/file.hpp"
#include "../connectors/callbacks.hpp"
#include "../connectors/checkpoint.hpp"
#include "../connectors/data.hpp"
#include "../connectors/logging.hpp"
#include "../connectors/optimizers.hpp"
#include "../data/datamodule.hpp"
#include "../detail/messages.hpp"
#include "../hooks.hpp"
#include "../stage.hpp"
#include "../trainer_options.hpp"
#include "batches.hpp"
#include "entry.hpp"
#include "evaluation.hpp"
#include "training_epoch.hpp"

namespace lightning::loops {

/// No validation loader.
struct NoLoader {};

template <class T>
class FitLoop {
  using Model = typename T::model_type;

 public:
  explicit FitLoop(T& t) : t_(t) {}

  /// `fit(model, train[, val])`.
  template <class TL, class VL>
  void run(Model& model, TL& train, VL* val, const FitOptions& options) {
    run_with(model, options, [&](auto&& body) {
      connectors::Data<T>(t_).prepare(Stage::fit);
      body(train, val);
    });
  }

  /// `fit(model, datamodule)`: its prepare_data and setup first, its loaders, its teardown at the end.
  template <class DM>
  void run(Model& model, DM& dm, const FitOptions& options) {
    static_assert(HasTrainDataloader<DM>, "lightning: fit(model, datamodule) needs datamodule.train_dataloader()");
    run_with(model, options, [&](auto&& body) {
      connectors::Data<T>(t_).prepare(Stage::fit, &dm);
      auto train = dm.train_dataloader();
      if constexpr (HasValDataloader<DM>) {
        auto val = dm.val_dataloader();
        body(train, &val);
      } else {
        body(train, static_cast<NoLoader*>(nullptr));
      }
    });
    connectors::Data<T>::teardown(dm, Stage::fit);
  }

 private:
  /// Reads the checkpoint (a bad file fails before anything runs), attaches
  /// the model, and runs `with_loaders(body)` under the exception handling of
  /// every entry point.
  template <class WithLoaders>
  void run_with(Model& model, const FitOptions& options, WithLoaders&& with_loaders) {
    std::optional<checkpoint::Dict> ckpt;
    std::filesystem::path ckpt_path;
    if (!options.ckpt_path.empty()) {
      ckpt_path = connectors::Checkpoints<T>(t_).resolve(options.ckpt_path);
      if (!ckpt_path.empty()) ckpt = checkpoint::read(ckpt_path);
    }
    typename Entry<T>::Attach attach(t_, model, Stage::fit);
    t_.last_model_ = &model;
    // A second fit() continues from the state the first one reached (a no-op
    // at max_epochs), as Lightning's: epoch, step, should_stop and the
    // callback metrics stay; only what says which loop runs is cleared.
    auto& progress = t_.module_link_.progress;
    progress = {.current_epoch = progress.current_epoch, .global_step = progress.global_step};
    t_.ckpt_path_ = ckpt_path;
    Entry<T>::guarded(t_, [&] {
      with_loaders([&](auto& train, auto* val) { fit(train, val, ckpt ? &*ckpt : nullptr, ckpt_path); });
    });
  }

  template <class TL, class VL>
  void fit(TL& train, VL* val, const checkpoint::Dict* ckpt, const std::filesystem::path& ckpt_path) {
    using batch_t = typename Batches<T>::template batch_type<TL>;
    static_assert(hooks::training_step::check_module<Model, batch_t&, int64_t&>(),
                  "lightning: training_step must be callable as training_step(batch, int64_t batch_idx)");
    Model& model = *t_.model_;
    Stage stage = Stage::fit;
    check_manual_optimization_options();
    connectors::attach_module_callbacks(t_, model);
    t_.template hook<hooks::setup>(stage);
    t_.strategy_.setup_module(model);
    t_.setup_precision();
    count_training_batches(train);  // before configure_optimizers, which may read estimated_stepping_batches
    connectors::Optimizers<T>(t_).configure();
    std::optional<ResumePoint> resume;
    if (ckpt) {
      lightning::detail::rank_zero_info(t_.is_global_zero(),
                                        "Restoring states from the checkpoint path at " + ckpt_path.string());
      resume = connectors::Checkpoints<T>(t_).restore(*ckpt, ckpt_path);
      lightning::detail::rank_zero_info(t_.is_global_zero(),
                                        "Restored all states from the checkpoint at " + ckpt_path.string());
    }
    connectors::Logging<T> logging(t_);
    logging.log_hyperparams(model);
    t_.template hook<hooks::on_fit_start>();
    logging.sync_results();
    count_batches(val, resume.has_value());
    if (t_.num_training_batches_ > 0) train_epochs(train, val, resume ? &*resume : nullptr);
    else lightning::detail::rank_zero_info(t_.is_global_zero(), "`Trainer.fit` stopped: No training batches.");
    t_.checkpoint_io_.teardown();  // on_fit_end may read the checkpoints
    t_.template hook<hooks::on_fit_end>();
    t_.template hook<hooks::teardown>(stage);
    t_.checkpoint_io_.teardown();  // and what on_fit_end or teardown saved
    logging.finalize("success");
  }

  /// Batches per training epoch, after limits.
  template <class TL>
  void count_training_batches(TL& train) {
    connectors::Data<T> data(t_);
    const auto train_len = data.shard_length(train, true);
    data.check_shards(train_len, "training");
    t_.train_length_known_ = train_len.has_value();
    t_.num_training_batches_ = data.num_batches(train_len, t_.opts_.limit_train, "limit_train_batches");
  }

  /// Batches per validation, after limits; the sanity check (not when
  /// restarting, as Lightning).
  template <class VL>
  void count_batches(VL* val, bool resuming) {
    connectors::Data<T> data(t_);
    t_.num_val_batches_ = 0;
    warn_about_loaders<VL>();
    if constexpr (T::template validates<VL>) {
      const auto val_len = data.shard_length(*val, false);
      data.check_shards(val_len, "validation");
      t_.num_val_batches_ = data.num_batches(val_len, t_.opts_.limit_val, "limit_val_batches");
      resolve_val_check_batch();
      if (!resuming) EvaluationLoop<T, false>(t_).sanity_check(*val);
    }
  }

  template <class TL, class VL>
  void train_epochs(TL& train, VL* val, const ResumePoint* resume) {
    auto& progress = t_.module_link_.progress;
    progress.training = true;
    t_.template hook<hooks::on_train_start>();
    // Between epochs, the generators continue from the checkpoint's state.
    if (resume && !mid_epoch(resume->position.phase)) checkpoint::set_rng_state(resume->rng);
    while (!t_.fit_done()) {
      TrainingEpochLoop<T>(t_).run(train, val, resume);
      resume = nullptr;
      ++progress.current_epoch;
      t_.epoch_state_.position = {};
    }
    say_why_fit_stopped();
    t_.template hook<hooks::on_train_end>();
    progress.training = false;
  }

  /// Lightning's configuration warnings about the loaders fit was given.
  template <class VL>
  void warn_about_loaders() {
    constexpr bool has_val_loader = !std::is_same_v<VL, NoLoader>;
    constexpr bool has_val_step = hooks::validation_step::named<Model>;
    const bool zero = t_.is_global_zero();
    if constexpr (has_val_loader && !has_val_step)
      lightning::detail::rank_zero_warn(
          zero, "You passed in a `val_dataloader` but have no `validation_step`. Skipping val loop.");
    if (t_.loggers_.any_on() && t_.num_training_batches_ < t_.opts_.log_every_n_steps && t_.opts_.fast_dev_run == 0 &&
        t_.num_training_batches_ > 0)
      lightning::detail::rank_zero_warn(
          zero, "The number of training batches (" + std::to_string(t_.num_training_batches_) +
                    ") is smaller than the logging interval Trainer(log_every_n_steps=" +
                    std::to_string(t_.opts_.log_every_n_steps) +
                    "). Set a lower value for log_every_n_steps if you want to see logs for the training epoch.");
  }

  /// Lightning's refusals for manual optimization: it would ignore these.
  void check_manual_optimization_options() const {
    if constexpr (!T::automatic_optimization) {
      const auto& o = t_.opts_.user;
      if (o.gradient_clip_val > 0)
        throw std::invalid_argument(
            "Automatic gradient clipping is not supported for manual optimization. Remove "
            "`Trainer(gradient_clip_val=" + lightning::detail::py_float(o.gradient_clip_val) +
            ")` or switch to automatic optimization (clip inside training_step with clip_gradients()).");
      if (o.accumulate_grad_batches != 1)
        throw std::invalid_argument("Automatic gradient accumulation is not supported for manual optimization. Remove "
                                    "`Trainer(accumulate_grad_batches=" + std::to_string(o.accumulate_grad_batches) +
                                    ")` or switch to automatic optimization.");
    }
  }

  void say_why_fit_stopped() {
    const bool zero = t_.is_global_zero();
    if (t_.max_steps_reached())
      lightning::detail::rank_zero_info(zero, "`Trainer.fit` stopped: `max_steps=" +
                                                  std::to_string(t_.opts_.max_steps) + "` reached.");
    else if (t_.opts_.max_epochs != -1 && t_.module_link_.progress.current_epoch >= t_.opts_.max_epochs)
      lightning::detail::rank_zero_info(zero, "`Trainer.fit` stopped: `max_epochs=" +
                                                  std::to_string(t_.opts_.max_epochs) + "` reached.");
  }

  /// The batch index validation runs after (Lightning's val_check_batch).
  void resolve_val_check_batch() {
    const auto& v = t_.opts_.val_check_interval;
    const int64_t n = t_.num_training_batches_;
    if (v.is_count()) {
      if (n != lightning::detail::kUnbounded && v.count() > n && t_.opts_.check_val_every_n_epoch)
        throw std::invalid_argument("`val_check_interval` (" + std::to_string(v.count()) +
                                    ") must be less than or equal to the number of the training batches (" +
                                    std::to_string(n) +
                                    "). If you want to disable validation set `limit_val_batches` to 0.0 instead. "
                                    "If you want to validate based on the total training batches, set "
                                    "`check_val_every_n_epoch` to unset.");
      t_.val_check_batch_ = v.count();
    } else if (n == lightning::detail::kUnbounded) {
      if (v.fraction() != 1.0)
        throw std::invalid_argument("val_check_interval as a fraction needs a training loader with a length");
      t_.val_check_batch_ = lightning::detail::kUnbounded;
    } else {
      t_.val_check_batch_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n) * v.fraction()));
    }
  }

  T& t_;
};

}  // namespace lightning::loops
