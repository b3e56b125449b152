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
    t_.should_stop = false;
    t_.module_link_.progress = {};
    t_.epoch_state_ = {};
    t_.published_metrics_ = {};
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
    connectors::attach_module_callbacks(t_, model);
    t_.template hook<hooks::setup>(stage);
    t_.strategy_.setup_module(model);
    t_.setup_precision();
    connectors::Optimizers<T>(t_).configure();
    std::optional<ResumePoint> resume;
    if (ckpt) resume = connectors::Checkpoints<T>(t_).restore(*ckpt, ckpt_path);
    connectors::Logging<T> logging(t_);
    logging.log_hyperparams(model);
    t_.template hook<hooks::on_fit_start>();
    logging.sync_results();
    count_batches(train, val, resume.has_value());
    if (t_.num_training_batches_ > 0) train_epochs(train, val, resume ? &*resume : nullptr);
    t_.template hook<hooks::on_fit_end>();
    t_.template hook<hooks::teardown>(stage);
    logging.finalize("success");
  }

  /// Batches per training epoch and per validation, after limits; the
  /// sanity check (not when restarting, as Lightning).
  template <class TL, class VL>
  void count_batches(TL& train, VL* val, bool resuming) {
    connectors::Data<T> data(t_);
    const auto train_len = data.shard_length(train, true);
    data.check_shards(train_len, "training");
    t_.train_length_known_ = train_len.has_value();
    t_.num_training_batches_ = data.num_batches(train_len, t_.opts_.limit_train, "limit_train_batches");
    t_.num_val_batches_ = 0;
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
    t_.template hook<hooks::on_train_end>();
    progress.training = false;
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
