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
#include "../detail/results.hpp"
#include "../hooks.hpp"
#include "../loops/training_epoch.hpp"
#include "callbacks.hpp"
#include "optimizers.hpp"

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

/// The largest epoch or step count a checkpoint may claim (2^53: exact as a double).
inline constexpr int64_t kMaxCount = int64_t{1} << 53;
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
  /// Everything read from the checkpoint before anything is applied.
  struct Staged {
    int64_t epoch = 0, global_step = 0, total_batch_idx = 0;
    bool should_stop = false;
    loops::ResumePoint resume;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> weights;  // (destination, source)
    std::vector<torch::Tensor> grads;                              // empty: none stored
    lightning::detail::ResultCollection results;
    lightning::detail::MetricMaps metrics;
  };

  Dict meta_of(const Dict& ckpt) const;
  Staged stage(const Dict& ckpt, const Dict& meta);
  void stage_position(const Dict& fit_state, const Dict& meta, Staged& s);
  void stage_grads(const Dict& meta, Staged& s);
  void load_components(const Dict& ckpt, detail::Undo& undo);
  void load_optimizers(const Dict& ckpt, detail::Undo& undo);
  void commit(Staged& s);

  Dict loops_state_dict() const;
  Dict fit_state_dict() const;
  Dict metric_maps_state_dict() const;
  Dict optimizer_states() const;
  Dict trainer_meta(bool weights_only) const;
  static void check_rng_state(const torch::Tensor& state, const char* where);

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
    ckpt.insert("loops", loops_state_dict());
    ckpt.insert("callbacks", ck::callbacks_state_dict(t_.callbacks_));
    const auto states = optimizer_states();
    ckpt.insert("optimizer_states", states.at("optimizers"));
    ckpt.insert("lr_schedulers", states.at("schedulers"));
    if (auto ps = t_.precision_.state_dict(); ps.size() > 0) ckpt.insert("MixedPrecision", ps);
  }
  ckpt.insert("hparams_name", std::string("hparams"));
  ckpt.insert("hyper_parameters", ck::hparams_dict(m->hparams()));
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
  meta.insert("fit_state", fit_state_dict());
  meta.insert("results", t_.train_results_.state_dict());
  meta.insert("metrics", metric_maps_state_dict());
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

/// Lightning's `loops` entry (progress counters), for readers of the file.
template <class T>
checkpoint::Dict Checkpoints<T>::loops_state_dict() const {
  namespace ck = checkpoint;
  auto counts = [](int64_t n) {
    auto d = ck::make_dict();
    for (const char* k : {"ready", "started", "processed", "completed"}) d.insert(k, n);
    return d;
  };
  auto progress = [&](int64_t total, int64_t current) {
    auto d = ck::make_dict();
    d.insert("total", counts(total));
    d.insert("current", counts(current));
    return d;
  };
  const auto& state = t_.epoch_state_;
  const int64_t epoch = t_.module_link_.progress.current_epoch;
  auto fit = ck::make_dict();
  fit.insert("state_dict", ck::make_dict());
  fit.insert("epoch_progress", progress(epoch, epoch));
  auto batches = progress(state.total_batch_idx, state.position.phase == loops::LoopPhase::idle ? 0 : state.position.batch_idx);
  batches.insert("is_last_batch", state.position.is_last);
  fit.insert("epoch_loop.batch_progress", batches);
  auto epoch_loop = ck::make_dict();
  epoch_loop.insert("_batches_that_stepped", t_.module_link_.progress.global_step);
  fit.insert("epoch_loop.state_dict", epoch_loop);
  auto loops = ck::make_dict();
  loops.insert("fit_loop", fit);
  return loops;
}

template <class T>
checkpoint::Dict Checkpoints<T>::fit_state_dict() const {
  const auto& state = t_.epoch_state_;
  auto d = checkpoint::make_dict();
  d.insert("phase", static_cast<int64_t>(state.position.phase));
  d.insert("batch_idx", state.position.batch_idx);
  d.insert("is_last", state.position.is_last);
  d.insert("stepped", state.position.stepped);
  d.insert("total_batch_idx", state.total_batch_idx);
  d.insert("should_stop", t_.should_stop);
  d.insert("epoch_start_rng", state.epoch_start_rng.defined() ? c10::IValue(state.epoch_start_rng) : c10::IValue());
  return d;
}

template <class T>
checkpoint::Dict Checkpoints<T>::metric_maps_state_dict() const {
  auto out = checkpoint::make_dict();
  auto put = [&](const char* key, const std::map<std::string, torch::Tensor>& m) {
    auto d = checkpoint::make_dict();
    for (const auto& [k, v] : m) d.insert(k, v);
    out.insert(key, d);
  };
  put("callback", t_.published_metrics_.callback);
  put("logged", t_.published_metrics_.logged);
  put("progress", t_.published_metrics_.progress);
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
  std::filesystem::path newest;
  std::filesystem::file_time_type newest_time{};
  std::error_code ec;
  const std::filesystem::path root = t_.opts_.user.default_root_dir;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto& f = it->path();
    if (it.depth() > 3 || f.extension() != ".ckpt" || !f.filename().string().starts_with("last")) continue;
    if (f.parent_path().filename() != "checkpoints") continue;
    const auto time = std::filesystem::last_write_time(f, ec);
    if (newest.empty() || time > newest_time) newest = f, newest_time = time;
  }
  if (newest.empty())
    std::cerr << "lightning: fit(..., {.ckpt_path = \"last\"}) is set, but there is no last checkpoint available. "
                 "No checkpoint will be loaded.\n";
  return newest;
}

// ---------------------------------------------------------------- restore

template <class T>
loops::ResumePoint Checkpoints<T>::restore(const Dict& ckpt, const std::filesystem::path& path) {
  try {
    Staged s = stage(ckpt, meta_of(ckpt));
    {
      detail::Undo undo;
      load_components(ckpt, undo);
      undo.commit();
    }
    commit(s);
    return std::move(s.resume);
  } catch (const CheckpointError& e) {
    throw CheckpointError("lightning: cannot resume from '" + path.string() + "': " + e.what());
  } catch (const std::exception& e) {  // a component's own load_state_dict
    throw CheckpointError("lightning: cannot resume from '" + path.string() + "': " + e.what());
  }
}

/// The lightning_cpp entry of a checkpoint fit() can resume from (written
/// and verified by this library, not weights only).
template <class T>
checkpoint::Dict Checkpoints<T>::meta_of(const Dict& ckpt) const {
  namespace ck = checkpoint;
  if (!ck::contains(ckpt, ck::kMetaKey))
    throw CheckpointError("the checkpoint is not one lightning-cpp's Trainer wrote and verified (it has no '" +
                          std::string(ck::kMetaKey) + "' entry, or no valid integrity record: a Lightning "
                          "checkpoint, or one edited or re-saved in Python): Model::load_from_checkpoint can take its "
                          "weights, but fit() cannot resume from it");
  const auto meta = ck::get<Dict>(ckpt, ck::kMetaKey, "the checkpoint");
  if (ck::get_or<bool>(meta, "weights_only", ck::kMetaKey, false))
    throw CheckpointError("the checkpoint was saved with save_weights_only: it holds the weights but no optimizer, "
                          "scheduler or loop state, so fit() cannot resume from it; use Model::load_from_checkpoint "
                          "for the weights");
  return meta;
}

template <class T>
auto Checkpoints<T>::stage(const Dict& ckpt, const Dict& meta) -> Staged {
  namespace ck = checkpoint;
  Staged s;
  s.epoch = ck::get<int64_t>(ckpt, "epoch", "the checkpoint");
  s.global_step = ck::get<int64_t>(ckpt, "global_step", "the checkpoint");
  if (s.epoch < 0 || s.epoch > detail::kMaxCount || s.global_step < 0 || s.global_step > detail::kMaxCount)
    throw CheckpointError("'epoch' (" + std::to_string(s.epoch) + ") and 'global_step' (" +
                          std::to_string(s.global_step) + ") must be counts from 0 to 2^53");
  stage_position(ck::get<Dict>(meta, "fit_state", ck::kMetaKey), meta, s);
  s.results.load_state_dict(ck::get<Dict>(meta, "results", ck::kMetaKey));  // a fresh collection: nothing reset yet
  for (const auto& [key, map] : {std::pair{"callback", &s.metrics.callback}, std::pair{"logged", &s.metrics.logged},
                                 std::pair{"progress", &s.metrics.progress}})
    for (const auto& e : ck::get<Dict>(ck::get<Dict>(meta, "metrics", ck::kMetaKey), key, "lightning_cpp.metrics")) {
      if (!e.key().isString() || !e.value().isTensor())
        throw CheckpointError("lightning_cpp.metrics." + std::string(key) + " should map names to tensors");
      (*map)[e.key().toStringRef()] = e.value().toTensor();
    }
  stage_grads(meta, s);
  s.weights = ck::stage_module_state_dict(*t_.model_, ck::get<Dict>(ckpt, "state_dict", "the checkpoint"),
                                         /*strict=*/true, "the module");
  return s;
}

template <class T>
void Checkpoints<T>::stage_position(const Dict& fs, const Dict& meta, Staged& s) {
  namespace ck = checkpoint;
  const char* w = "lightning_cpp.fit_state";
  const int64_t phase = ck::get<int64_t>(fs, "phase", w);
  if (!loops::is_loop_phase(phase))
    throw CheckpointError("'phase' in " + std::string(w) + " is " + std::to_string(phase) + "; expected 0 to 5");
  auto& at = s.resume.position;
  at.phase = static_cast<loops::LoopPhase>(phase);
  at.batch_idx = ck::get<int64_t>(fs, "batch_idx", w);
  at.is_last = ck::get<bool>(fs, "is_last", w);
  at.stepped = ck::get<bool>(fs, "stepped", w);
  s.total_batch_idx = ck::get<int64_t>(fs, "total_batch_idx", w);
  s.should_stop = ck::get<bool>(fs, "should_stop", w);
  if (at.batch_idx < 0 || at.batch_idx > detail::kMaxCount || s.total_batch_idx < 0 || s.total_batch_idx > detail::kMaxCount)
    throw CheckpointError("'batch_idx' and 'total_batch_idx' in " + std::string(w) + " must be counts from 0 to 2^53");
  // Mid-epoch, the batches already seen depend on how the data was sharded.
  if (const auto ws = ck::get_or<int64_t>(meta, "world_size", ck::kMetaKey, 1);
      ws != t_.strategy_.world_size() && loops::mid_epoch(at.phase))
    throw CheckpointError("the checkpoint was saved mid-epoch by " + std::to_string(ws) + " process(es); resuming it "
                          "with " + std::to_string(t_.strategy_.world_size()) + " would replay a different split of "
                          "the epoch. Resume with the same devices * num_nodes, or from a checkpoint saved at an "
                          "epoch's end");
  s.resume.epoch_start_rng = ck::get_or<torch::Tensor>(fs, "epoch_start_rng", w, {});
  if (s.resume.epoch_start_rng.defined()) check_rng_state(s.resume.epoch_start_rng, "fit_state.epoch_start_rng");
  s.resume.rng = ck::get<Dict>(meta, "rng_states", ck::kMetaKey);
  check_rng_state(ck::get<torch::Tensor>(s.resume.rng, "torch", "rng_states"), "rng_states.torch");
  (void)ck::get<int64_t>(s.resume.rng, "lightning_seed", "rng_states");
  (void)ck::get<checkpoint::List>(s.resume.rng, "torch.cuda", "rng_states");
}

/// A generator state LibTorch's CPU generator accepts (it aborts on others).
template <class T>
void Checkpoints<T>::check_rng_state(const torch::Tensor& state, const char* where) {
  const auto current = checkpoint::cpu_rng_state();
  if (state.scalar_type() != torch::kByte || state.dim() != 1 || state.numel() != current.numel())
    throw CheckpointError(std::string("lightning_cpp.") + where + " should be a uint8 tensor of " +
                          std::to_string(current.numel()) + " bytes (the CPU generator's state)");
}

template <class T>
void Checkpoints<T>::stage_grads(const Dict& meta, Staged& s) {
  namespace ck = checkpoint;
  if (!ck::contains(meta, "accumulated_grads")) return;
  const auto grads = ck::get<ck::List>(meta, "accumulated_grads", ck::kMetaKey);
  const auto params = t_.model_->parameters();
  if (grads.size() != params.size())
    throw CheckpointError("accumulated_grads has " + std::to_string(grads.size()) + " entries, the module has " +
                          std::to_string(params.size()) + " parameters");
  for (std::size_t i = 0; i < params.size(); ++i) {
    const c10::IValue g = grads.get(i);
    if (g.isNone()) {
      s.grads.emplace_back();
      continue;
    }
    if (!g.isTensor() || g.toTensor().sizes() != params[i].sizes())
      throw CheckpointError("accumulated_grads[" + std::to_string(i) + "] should be None or a tensor of shape " +
                            lightning::detail::shape_str(params[i].sizes()));
    s.grads.push_back(g.toTensor());
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
void Checkpoints<T>::commit(Staged& s) {
  checkpoint::apply_module_state_dict(s.weights);
  if (!s.grads.empty()) {
    auto params = t_.model_->parameters();
    for (std::size_t i = 0; i < params.size(); ++i)
      if (s.grads[i].defined()) params[i].mutable_grad() = s.grads[i].clone();
  }
  auto& progress = t_.module_link_.progress;
  progress.current_epoch = s.epoch;
  progress.global_step = s.global_step;
  t_.epoch_state_.total_batch_idx = s.total_batch_idx;
  t_.should_stop = s.should_stop;
  t_.train_results_.reset();  // resets the metric objects of the entries it had
  t_.train_results_ = std::move(s.results);
  t_.published_metrics_ = std::move(s.metrics);
}

}  // namespace lightning::connectors
