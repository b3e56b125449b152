#pragma once
// The run's state in and out of checkpoints: `dump` lays it out as
// Lightning's checkpoint (what Python's torch.load shows) plus, under
// "lightning_cpp", what resuming exactly needs; `restore` reads and checks
// every part before it applies any, so a bad checkpoint leaves the model,
// the optimizers and the trainer as they were; `resolve` finds what
// ckpt_path "last" and "best" name.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../checkpoint/callback_state.hpp"
#include "../checkpoint/dict.hpp"
#include "../checkpoint/file.hpp"
#include "../checkpoint/hparams.hpp"
#include "../checkpoint/module_state.hpp"
#include "../checkpoint/optimizer_state.hpp"
#include "../checkpoint/rng.hpp"
#include "../detail/messages.hpp"
#include "../detail/results.hpp"
#include "../hooks.hpp"
#include "../loops/training_epoch.hpp"
#include "callbacks.hpp"
#include "detail/checkpoint_state.hpp"
#include "optimizers.hpp"
#include "../no_hparams.hpp"

namespace lightning::connectors {

namespace detail {
/// Undo steps, run in reverse unless the restore they guard completes.
class Undo {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {  // the original error is the one to report
      }
    }
  }
  void add(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void commit() noexcept { steps_.clear(); }

 private:
  std::vector<std::function<void()>> steps_;
};
}  // namespace detail

template <class T>
class Checkpoints {
  using Model = typename T::model_type;
  using Dict = checkpoint::Dict;

 public:
  explicit Checkpoints(T& t) : t_(t) {}

  Dict dump(bool weights_only);

  /// `ckpt_path` as given, or what "last"/"best" name (Lightning's rules).
  /// Empty: "last" was asked for but there is none (Lightning then starts afresh).
  std::filesystem::path resolve(const std::string& ckpt_path);

  /// Restores the run from `ckpt` (read from `path`): everything is read
  /// and checked first; then the optimizers, schedulers, precision and
  /// callbacks are loaded (undone if one fails); then the weights and the
  /// loop state are set. Returns where the loop resumes.
  loops::ResumePoint restore(const Dict& ckpt, const std::filesystem::path& path);

 private:
  void load_components(const Dict& ckpt, detail::Undo& undo);
  void load_optimizers(const Dict& ckpt, detail::Undo& undo);
  void commit(detail::StagedLoop& s, const std::vector<std::pair<torch::Tensor, torch::Tensor>>& weights);
  Dict optimizer_states() const;
  Dict trainer_meta(bool weights_only) const;

  T& t_;
};

// ---------------------------------------------------------------- dump

template <class T>
checkpoint::Dict Checkpoints<T>::dump(bool weights_only) {
  namespace ck = checkpoint;
  Model* m = t_.model_ ? t_.model_ : t_.last_model_;
  if (!m) throw std::logic_error("trainer.save_checkpoint(): no model yet: call it during or after fit()");
  auto ckpt = ck::make_dict();
  ckpt.insert("epoch", t_.module_link_.progress.current_epoch);
  ckpt.insert("global_step", t_.module_link_.progress.global_step);
  // The layout follows this Lightning release; the library's own version is in lightning_cpp.
  ckpt.insert("pytorch-lightning_version", std::string("2.2.5"));
  ckpt.insert("state_dict", ck::module_state_dict(*m));
  auto meta = trainer_meta(weights_only);
  if (!weights_only) {
    ckpt.insert("loops", detail::loops_state_dict(t_.module_link_.progress, t_.epoch_state_, T::automatic_optimization));
    ckpt.insert("callbacks", ck::callbacks_state_dict(t_.callbacks_));
    const auto states = optimizer_states();
    ckpt.insert("optimizer_states", states.at("optimizers"));
    ckpt.insert("lr_schedulers", states.at("schedulers"));
    if (auto ps = t_.precision_.state_dict(); ps.size() > 0) ckpt.insert("MixedPrecision", ps);
  }
  // As Lightning: a module without hyperparameters writes neither key.
  if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(m->hparams())>, NoHParams>) {
    ckpt.insert("hparams_name", std::string("hparams"));
    ckpt.insert("hyper_parameters", ck::hparams_dict(m->hparams()));
  }
  meta.insert("hparams_archive", ck::hparams_to_archive(m->hparams()));
  ckpt.insert(std::string(ck::kMetaKey), meta);
  t_.callbacks_.for_each([&](auto& cb) {
    using C = std::remove_cvref_t<decltype(cb)>;
    if constexpr (hooks::on_save_checkpoint::check_callback<C, T&, Model&, Dict&>()) {
      t_.enter(lightning::detail::Fx::on_save_checkpoint);
      cb.on_save_checkpoint(t_, *m, ckpt);
    }
  });
  if constexpr (hooks::on_save_checkpoint::check_module<Model, Dict&>()) {
    t_.enter(lightning::detail::Fx::on_save_checkpoint);
    m->on_save_checkpoint(ckpt);
  }
  return ckpt;
}

/// lightning_cpp: generator states, the position in the epoch, the epoch's
/// logged values, gradients accumulated by batches that have not stepped.
template <class T>
checkpoint::Dict Checkpoints<T>::trainer_meta(bool weights_only) const {
  namespace ck = checkpoint;
  auto meta = ck::make_dict();
  meta.insert("weights_only", weights_only);
  meta.insert("world_size", t_.strategy_.world_size());
  if (weights_only) return meta;
  meta.insert("rng_states", ck::rng_state());
  meta.insert("fit_state", detail::fit_state_dict(t_.epoch_state_, t_.should_stop));
  meta.insert("results", t_.train_results_.state_dict());
  meta.insert("metrics", detail::metric_maps_state_dict(t_.published_metrics_));
  const auto& at = t_.epoch_state_.position;
  if (loops::mid_epoch(at.phase) && at.phase != loops::LoopPhase::epoch_end && !at.stepped && t_.opts_.accumulate > 1) {
    auto grads = ck::make_list();
    Model* m = t_.model_ ? t_.model_ : t_.last_model_;
    for (const auto& p : m->parameters()) {
      torch::Tensor g = p.grad();
      // Unsynced (no_sync) gradients differ by rank; their mean continues
      // the accumulation exactly, since the next sync averages linearly.
      if (g.defined()) g = t_.strategy_.reduce(g, Reduce::mean);
      grads.push_back(g.defined() ? c10::IValue(g) : c10::IValue());
    }
    meta.insert("accumulated_grads", grads);
  }
  return meta;
}

template <class T>
checkpoint::Dict Checkpoints<T>::optimizer_states() const {
  namespace ck = checkpoint;
  auto optimizers = ck::make_list();
  auto schedulers = ck::make_list();
  if (t_.slots_)
    std::apply(
        [&](auto&... slot) {
          auto one = [&](auto& s) {
            using Slot = std::remove_cvref_t<decltype(s)>;
            if constexpr (!std::is_same_v<typename Slot::optimizer_type, NoOptimizer>)
              optimizers.push_back(ck::optimizer_state_dict(s.optimizer));
            if constexpr (Slot::has_scheduler) schedulers.push_back(s.lr_scheduler.scheduler.state_dict());
          };
          (one(slot), ...);
        },
        *t_.slots_);
  auto out = ck::make_dict();
  out.insert("optimizers", optimizers);
  out.insert("schedulers", schedulers);
  return out;
}

// ---------------------------------------------------------------- resolve

template <class T>
std::filesystem::path Checkpoints<T>::resolve(const std::string& p) {
  if (p != "best" && p != "last") return p;
  std::string found;
  bool has_callback = false;
  t_.callbacks_.for_each([&](auto& cb) {
    if constexpr (detail::CheckpointCallback<std::remove_cvref_t<decltype(cb)>>) {
      has_callback = true;
      if (found.empty()) found = std::string(p == "best" ? cb.best_model_path() : cb.last_model_path());
    }
  });
  if (!found.empty()) return found;
  if (p == "best") {
    if (!has_callback)
      throw std::invalid_argument("fit(..., {.ckpt_path = \"best\"}) is set but `ModelCheckpoint` is not configured.");
    throw std::invalid_argument("fit(..., {.ckpt_path = \"best\"}) is set but `ModelCheckpoint` has not saved a best "
                                "checkpoint yet: pass a path instead");
  }
  // The newest `last*.ckpt` under default_root_dir's checkpoint folders.
  return detail::find_last_checkpoint(t_.opts_.user.default_root_dir);
}

// ---------------------------------------------------------------- restore

template <class T>
loops::ResumePoint Checkpoints<T>::restore(const Dict& ckpt, const std::filesystem::path& path) {
  try {
    // A file this library wrote and verified carries its exact position and
    // generator states; another (Python Lightning's) its `loops` counters.
    const bool own = checkpoint::contains(ckpt, checkpoint::kMetaKey);
    auto staged = own ? detail::stage_loop(ckpt, detail::resumable_meta(ckpt), t_.strategy_.world_size(),
                                           t_.model_->parameters(), T::automatic_optimization)
                      : detail::stage_foreign_loop(ckpt, T::automatic_optimization);
    const auto weights = checkpoint::stage_module_state_dict(*t_.model_, checkpoint::get<Dict>(ckpt, "state_dict", "the checkpoint"),
                                                             /*strict=*/true, "the module");
    {
      detail::Undo undo;
      load_components(ckpt, undo);
      undo.commit();
    }
    commit(staged, weights);
    if (!own)
      lightning::detail::rank_zero_warn(t_.is_global_zero(), "resuming from '" + path.string() + "': " +
                                                                  detail::kForeignResumeWarning);
    return std::move(staged.resume);
  } catch (const std::exception& e) {  // a CheckpointError, or a component's own load_state_dict
    throw CheckpointError("lightning: cannot resume from '" + path.string() + "': " + e.what());
  }
}

/// Optimizers, schedulers, precision and callbacks through their own
/// load_state_dict, each undone (from a snapshot) if a later one fails;
/// then the on_load_checkpoint hooks.
template <class T>
void Checkpoints<T>::load_components(const Dict& ckpt, detail::Undo& undo) {
  namespace ck = checkpoint;
  load_optimizers(ckpt, undo);
  if (ck::contains(ckpt, "MixedPrecision")) {
    undo.add([this, before = t_.precision_.state_dict()] { t_.precision_.load_state_dict(before); });
    t_.precision_.load_state_dict(ck::get<Dict>(ckpt, "MixedPrecision", "the checkpoint"));
  }
  undo.add([this, before = ck::callbacks_state_dict(t_.callbacks_)] { ck::load_callbacks_state_dict(t_.callbacks_, before); });
  ck::load_callbacks_state_dict(t_.callbacks_, ck::get<Dict>(ckpt, "callbacks", "the checkpoint"));
  Model& model = *t_.model_;
  t_.callbacks_.for_each([&](auto& cb) {
    using C = std::remove_cvref_t<decltype(cb)>;
    if constexpr (hooks::on_load_checkpoint::check_callback<C, T&, Model&, const Dict&>()) {
      t_.enter(lightning::detail::Fx::on_load_checkpoint);
      cb.on_load_checkpoint(t_, model, ckpt);
    }
  });
  if constexpr (hooks::on_load_checkpoint::check_module<Model, const Dict&>()) {
    t_.enter(lightning::detail::Fx::on_load_checkpoint);
    model.on_load_checkpoint(ckpt);
  }
}

template <class T>
void Checkpoints<T>::load_optimizers(const Dict& ckpt, detail::Undo& undo) {
  namespace ck = checkpoint;
  const auto optimizers = ck::get<ck::List>(ckpt, "optimizer_states", "the checkpoint");
  const auto schedulers = ck::get<ck::List>(ckpt, "lr_schedulers", "the checkpoint");
  const auto own = optimizer_states();
  const std::size_t n_opt = own.at("optimizers").toList().size(), n_sched = own.at("schedulers").toList().size();
  if (optimizers.size() != n_opt || schedulers.size() != n_sched)
    throw CheckpointError("the checkpoint has " + std::to_string(optimizers.size()) + " optimizer(s) and " +
                          std::to_string(schedulers.size()) + " scheduler(s); configure_optimizers() made " +
                          std::to_string(n_opt) + " and " + std::to_string(n_sched));
  if (!t_.slots_) return;
  std::size_t oi = 0, si = 0;
  std::apply(
      [&](auto&... slot) {
        auto one = [&](auto& s) {
          using Slot = std::remove_cvref_t<decltype(s)>;
          if constexpr (!std::is_same_v<typename Slot::optimizer_type, NoOptimizer>) {
            const std::string where = "optimizer_states[" + std::to_string(oi) + "]";
            const c10::IValue v = optimizers.get(oi++);
            if (!v.isGenericDict()) throw CheckpointError(where + " should be a dict, found " + ck::describe(v));
            undo.add([&s, before = ck::optimizer_state_dict(s.optimizer)] { ck::load_optimizer_state_dict(s.optimizer, before); });
            ck::load_optimizer_state_dict(s.optimizer, v.toGenericDict(), where);
          }
          if constexpr (Slot::has_scheduler) {
            const std::string where = "lr_schedulers[" + std::to_string(si) + "]";
            const c10::IValue v = schedulers.get(si++);
            if (!v.isGenericDict()) throw CheckpointError(where + " should be a dict, found " + ck::describe(v));
            undo.add([&s, before = s.lr_scheduler.scheduler] { s.lr_scheduler.scheduler = before; });
            try {
              s.lr_scheduler.scheduler.load_state_dict(v.toGenericDict());
            } catch (const std::exception& e) {
              throw CheckpointError(where + ": " + e.what());
            }
          }
        };
        (one(slot), ...);
      },
      *t_.slots_);
}

/// What cannot fail: the weights, accumulated gradients and the loop state.
template <class T>
void Checkpoints<T>::commit(detail::StagedLoop& s, const std::vector<std::pair<torch::Tensor, torch::Tensor>>& weights) {
  checkpoint::apply_module_state_dict(weights);
  if (!s.grads.empty()) {
    auto params = t_.model_->parameters();
    for (std::size_t i = 0; i < params.size(); ++i)
      if (s.grads[i].defined()) params[i].mutable_grad() = s.grads[i].clone();
  }
  auto& progress = t_.module_link_.progress;
  progress.current_epoch = s.epoch;
  progress.global_step = s.global_step;
  t_.epoch_state_.total_batch_idx = s.total_batch_idx;
  if (s.has_counters) {
    t_.epoch_state_.counters = s.counters;
  } else {  // an older file of this library: counted from here on
    t_.epoch_state_.counters = {};
    t_.epoch_state_.counters.epoch_start_step = s.global_step;
  }
  // Not restored, as in Lightning: a run resumed after an early stop trains
  // on (and stops again only if a callback says so).
  t_.should_stop = false;
  t_.train_results_.reset();  // resets the metric objects of the entries it had
  t_.train_results_ = std::move(s.results);
  t_.published_metrics_ = std::move(s.metrics);
}

}  // namespace lightning::connectors
