#pragma once
// Trainer<Model, Policies...>: owns *how* the loop runs. Policies (precision,
// strategy, callbacks, loggers, optimizer) come in any order and are found by
// kind; each hook is resolved at compile time, and a hook or feature nobody
// defined is not in the binary.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "callbacks/callbacks.hpp"
#include "callbacks/model_checkpoint.hpp"
#include "callbacks/model_summary.hpp"
#include "callbacks/progress_bar.hpp"
#include "checkpoint/callback_state.hpp"
#include "checkpoint/file.hpp"
#include "checkpoint/hparams.hpp"
#include "checkpoint/module_state.hpp"
#include "checkpoint/optimizer_state.hpp"
#include "checkpoint/rng.hpp"
#include "data/batch.hpp"
#include "data/datamodule.hpp"
#include "data/distributed.hpp"
#include "data/loader.hpp"
#include "detail/results.hpp"
#include "detail/trainer_link.hpp"
#include "hooks.hpp"
#include "loggers/csv_logger.hpp"
#include "loggers/loggers.hpp"
#include "module.hpp"
#include "optim/clipping.hpp"
#include "optim/configure.hpp"
#include "optim/optimizer.hpp"
#include "policies/kinds.hpp"
#include "precision/f32.hpp"
#include "stage.hpp"
#include "strategy/single.hpp"
#include "trainer_options.hpp"

namespace lightning {

/// What `L.Trainer()` gives: a model summary, a progress bar and a checkpoint every epoch.
using DefaultCallbacks = Callbacks<ModelSummary, ProgressBar, ModelCheckpoint>;
using DefaultLoggers = Loggers<CSVLogger>;

/// What a step that returns nothing passes to `on_*_batch_end`.
struct NoOutput {};

namespace detail {
template <class>
inline constexpr bool always_false = false;

/// The loss inside what `training_step` returned: the tensor itself, a
/// `loss` member, or a map's "loss" entry.
template <class Out>
torch::Tensor loss_of(const Out& out) {
  if constexpr (std::is_convertible_v<const Out&, torch::Tensor>) {
    return out;
  } else if constexpr (requires { out.loss; }) {
    return out.loss;
  } else if constexpr (requires { out.find("loss") == out.end(); }) {
    auto it = out.find("loss");
    if (it == out.end()) throw std::invalid_argument("training_step returned a map without a \"loss\" entry");
    return it->second;
  } else {
    static_assert(always_false<Out>,
                  "lightning: training_step must return the loss tensor, a struct with a `loss` member, "
                  "or a map with a \"loss\" entry");
  }
}

/// `outputs["loss"]` seen by `on_train_batch_end` is the loss divided by K.
template <class Out>
void set_loss(Out& out, const torch::Tensor& loss) {
  if constexpr (std::is_same_v<Out, torch::Tensor>) out = loss;
  else if constexpr (requires { out.loss = loss; }) out.loss = loss;
  else if constexpr (requires { out["loss"] = loss; }) out["loss"] = loss;
}

template <class M>
constexpr bool automatic_optimization() {
  if constexpr (requires { M::automatic_optimization; }) return M::automatic_optimization;
  else return true;
}

/// Where a callback runs in `on_train_epoch_end`: plain callbacks before the
/// module's hook, monitoring ones (EarlyStopping) after, checkpoints last.
template <class C>
constexpr int callback_phase() {
  if constexpr (requires { C::lightning_callback_phase; }) return C::lightning_callback_phase;
  else return 0;
}

struct NoLoader {};

/// Where the fit loop is, so a checkpoint taken there resumes at the same
/// point: the work left for the current batch or epoch is done on resume.
enum class LoopPhase : int64_t { idle, epoch_start, in_batch, after_batch, in_validation, epoch_end };
struct LoopPosition {
  LoopPhase phase = LoopPhase::idle;
  int64_t batch_idx = 0;
  bool is_last = false, stepped = false;
};
/// A fit resumed from a checkpoint: the position and the generator states to restore.
struct ResumeState {
  LoopPosition pos;
  checkpoint::Dict rng = checkpoint::make_dict();
  torch::Tensor epoch_start_rng;
};

inline torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}
inline void set_cpu_rng_state(const torch::Tensor& s) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(s);
}

/// The first callback type in a set with ModelCheckpoint's accessors.
template <class C>
concept CheckpointCallback = requires(C& c) {
  c.best_model_path();
  c.last_model_path();
};
template <class Tuple>
struct first_checkpoint_callback {
  using type = void;
};
template <class C, class... Rest>
struct first_checkpoint_callback<std::tuple<C, Rest...>> {
  using type = std::conditional_t<CheckpointCallback<C>, C, typename first_checkpoint_callback<std::tuple<Rest...>>::type>;
};

/// Stands in for the optimizer of a module in manual optimization that has none.
struct NoOptimizer {
  void zero_grad() {}
  void step() {}
  std::vector<torch::optim::OptimizerParamGroup>& param_groups() {
    static std::vector<torch::optim::OptimizerParamGroup> none;
    return none;
  }
};

/// The callbacks a module's `configure_callbacks()` returns (one, or a std::tuple of them).
template <class M>
struct module_callbacks {
  using type = std::tuple<>;
};
template <class T>
struct as_tuple {
  using type = std::tuple<T>;
};
template <class... Ts>
struct as_tuple<std::tuple<Ts...>> {
  using type = std::tuple<Ts...>;
};
template <class M>
  requires requires(M& m) { m.configure_callbacks(); }
struct module_callbacks<M> {
  using type = typename as_tuple<std::remove_cvref_t<decltype(std::declval<M&>().configure_callbacks())>>::type;
};

/// The Trainer's callback set plus the module's callback types it lacks
/// (a type it has is replaced by the module's instance, as in Lightning).
template <class Set, class Tuple>
struct merge_callbacks;
template <class... Cs>
struct merge_callbacks<Callbacks<Cs...>, std::tuple<>> {
  using type = Callbacks<Cs...>;
};
template <class... Cs, class M, class... Ms>
struct merge_callbacks<Callbacks<Cs...>, std::tuple<M, Ms...>> {
  using type = typename merge_callbacks<
      std::conditional_t<(std::is_same_v<M, Cs> || ...), Callbacks<Cs...>, Callbacks<Cs..., M>>, std::tuple<Ms...>>::type;
};

template <class... Cs>
constexpr bool check_callback_set(Callbacks<Cs...>*) {
  return (hooks::check_no_misspelled_hooks<Cs>() && ...);
}

template <class M, class B>
decltype(auto) default_predict(M& m, B& batch) {
  if constexpr (requires { m.forward(batch); }) return m.forward(batch);
  else if constexpr (requires { m.forward(batch.data); }) return m.forward(batch.data);
  else static_assert(always_false<M>, "lightning: predict needs `predict_step(batch, batch_idx)` or a `forward(batch)` in the module");
}

template <class Opt>
struct policy_slots {
  using type = std::tuple<OptimizerSlot<typename Opt::optimizer_type, NoScheduler>>;
};
template <>
struct policy_slots<NoOptimizerPolicy> {
  using type = std::tuple<OptimizerSlot<NoOptimizer, NoScheduler>>;
};
template <class M, bool configures>
struct module_slots {
  using type = void;
};
template <class M>
struct module_slots<M, true> {
  using type = optimizer_slots_t<decltype(std::declval<M&>().configure_optimizers())>;
};

/// Builds an object in place from a call's result, so a non-movable
/// optimizer can be stored in an optional (guaranteed copy elision).
template <class F>
struct from_call {
  F f;
  operator std::invoke_result_t<F&>() { return f(); }
};
template <class F>
from_call(F) -> from_call<F>;
}  // namespace detail

template <class Model, class... Policies>
class Trainer {
  static_assert(detail::check_policies<Policies...>());
  static_assert(LightningModuleType<Model>,
                "lightning: Trainer<Model, ...>: Model must derive from L::LightningModule<Model, HParams>");

 public:
  using model_type = Model;
  using precision_type = detail::find_policy_t<policy_kind::precision, precision::F32, Policies...>;
  using strategy_type = detail::find_policy_t<policy_kind::strategy, strategy::Single, Policies...>;
  /// The callbacks named in the policies (or the defaults), plus those the
  /// module's `configure_callbacks()` adds.
  using callbacks_type = typename detail::merge_callbacks<
      detail::find_policy_t<policy_kind::callbacks, DefaultCallbacks, Policies...>,
      typename detail::module_callbacks<Model>::type>::type;
  using loggers_type = detail::find_policy_t<policy_kind::loggers, DefaultLoggers, Policies...>;
  using optimizer_policy_type = detail::find_policy_t<policy_kind::optimizer, NoOptimizerPolicy, Policies...>;

  static constexpr bool automatic_optimization = detail::automatic_optimization<Model>();
  /// Whether the strategy runs several processes (DDP): shards data, reduces logged values.
  static constexpr bool is_distributed = requires { requires strategy_type::distributed; };
  static constexpr bool module_configures_optimizers = hooks::configure_optimizers::named<Model>;
  static constexpr bool has_optimizer_policy = !std::is_same_v<optimizer_policy_type, NoOptimizerPolicy>;

  static_assert(hooks::training_step::named<Model>,
                "lightning: the module must define `training_step(batch, batch_idx)` returning the loss");
  static_assert(!(module_configures_optimizers && has_optimizer_policy),
                "lightning: both the module's configure_optimizers() and an L::Optimizer<...> Trainer policy supply "
                "an optimizer; which one wins would be ambiguous: remove one of them");
  static_assert(module_configures_optimizers || has_optimizer_policy || !automatic_optimization,
                "lightning: automatic optimization needs an optimizer: define `auto configure_optimizers()` in the "
                "module, or give the Trainer an L::Optimizer<...> policy");
  static_assert(hooks::check_no_misspelled_hooks<Model>());
  static_assert(detail::check_callback_set(static_cast<callbacks_type*>(nullptr)));

  /// The optimizers (with their schedulers) as stored: one slot per optimizer.
  using optimizer_slots_type =
      std::conditional_t<module_configures_optimizers,
                         typename detail::module_slots<Model, module_configures_optimizers>::type,
                         typename detail::policy_slots<optimizer_policy_type>::type>;
  using optimizer_type = typename std::tuple_element_t<0, optimizer_slots_type>::optimizer_type;
  static_assert(!automatic_optimization || std::tuple_size_v<optimizer_slots_type> == 1,
                "lightning: automatic optimization steps one optimizer; for several (a GAN's generator and "
                "discriminator), set `static constexpr bool automatic_optimization = false;` in the module and "
                "step them in training_step with optimizers() and manual_backward(), as Lightning 2 requires");

  /// `Trainer({.max_epochs = 10}, L::ModelCheckpoint({...}), ...)`: each
  /// extra argument replaces the default instance of the callback, logger
  /// or policy of its type.
  template <class... Components>
  explicit Trainer(TrainerOptions options = {}, Components&&... components) : opts_(detail::resolve(options)) {
    static_assert(!has_optimizer_policy || (std::is_same_v<std::remove_cvref_t<Components>, optimizer_policy_type> || ...),
                  "lightning: this Trainer has an L::Optimizer<...> policy: pass its options to the constructor, "
                  "e.g. Trainer(opts, L::Optimizer<torch::optim::SGD>(torch::optim::SGDOptions(0.1)))");
    // Default loggers write under default_root_dir, as Lightning's do; ones
    // the user passes keep their own options.
    loggers_.for_each([&](auto& lg) {
      using Lg = std::remove_cvref_t<decltype(lg)>;
      if constexpr (requires(typename Lg::Options o) {
                      o.save_dir = opts_.user.default_root_dir;
                      Lg(std::move(o));
                    }) {
        typename Lg::Options o;
        o.save_dir = opts_.user.default_root_dir;
        lg = Lg(std::move(o));
      }
    });
    (place(std::forward<Components>(components)), ...);
    strategy_.setup_environment(opts_.user);
    if constexpr (is_distributed) share_run_directory();
    // A precision the device cannot run (16-mixed on CPU) fails here, not mid-fit.
    if constexpr (requires { precision_.setup(strategy_.root_device()); }) precision_.setup(strategy_.root_device());
    if (opts_.user.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  }

  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // ---------------------------------------------------------------- entry points

  /// Trains on `train` (and validates on `val`, if given).
  template <data::Loader TL>
  void fit(Model& model, TL&& train, const FitOptions& fo = {}) {
    fit_impl(model, train, static_cast<detail::NoLoader*>(nullptr), fo);
  }
  template <data::Loader TL, data::Loader VL>
  void fit(Model& model, TL&& train, VL&& val, const FitOptions& fo = {}) {
    fit_impl(model, train, &val, fo);
  }
  template <LightningDataModule DM>
  void fit(Model& model, DM& dm, const FitOptions& fo = {}) {
    static_assert(HasTrainDataloader<DM>, "lightning: fit(model, datamodule) needs datamodule.train_dataloader()");
    prepare_datamodule(dm, Stage::fit);
    auto train = dm.train_dataloader();
    if constexpr (HasValDataloader<DM>) {
      auto val = dm.val_dataloader();
      fit_impl(model, train, &val, fo);
    } else {
      fit_impl(model, train, static_cast<detail::NoLoader*>(nullptr), fo);
    }
    data::detail::teardown(dm, Stage::fit);
  }

  /// Runs the validation loop once; returns the logged epoch metrics (one map per loader).
  template <data::Loader VL>
  std::vector<std::map<std::string, double>> validate(Model& model, VL&& loader) {
    return evaluate_entry<false>(model, loader);
  }
  template <LightningDataModule DM>
  std::vector<std::map<std::string, double>> validate(Model& model, DM& dm) {
    static_assert(HasValDataloader<DM>, "lightning: validate(model, datamodule) needs datamodule.val_dataloader()");
    prepare_datamodule(dm, Stage::validate);
    auto loader = dm.val_dataloader();
    auto out = evaluate_entry<false>(model, loader);
    data::detail::teardown(dm, Stage::validate);
    return out;
  }

  /// Runs the test loop once; returns the logged epoch metrics, like Lightning.
  template <data::Loader TL>
  std::vector<std::map<std::string, double>> test(Model& model, TL&& loader) {
    return evaluate_entry<true>(model, loader);
  }
  template <LightningDataModule DM>
  std::vector<std::map<std::string, double>> test(Model& model, DM& dm) {
    static_assert(HasTestDataloader<DM>, "lightning: test(model, datamodule) needs datamodule.test_dataloader()");
    prepare_datamodule(dm, Stage::test);
    auto loader = dm.test_dataloader();
    auto out = evaluate_entry<true>(model, loader);
    data::detail::teardown(dm, Stage::test);
    return out;
  }

  /// Returns every `predict_step` result (or `forward(batch)` without one).
  template <data::Loader PL>
  auto predict(Model& model, PL&& loader) {
    return predict_entry(model, loader);
  }
  template <LightningDataModule DM>
  auto predict(Model& model, DM& dm) {
    static_assert(HasPredictDataloader<DM>, "lightning: predict(model, datamodule) needs datamodule.predict_dataloader()");
    prepare_datamodule(dm, Stage::predict);
    auto loader = dm.predict_dataloader();
    auto out = predict_entry(model, loader);
    data::detail::teardown(dm, Stage::predict);
    return out;
  }

  // ---------------------------------------------------------------- state

  /// Set by a callback (or the module) to end training after this batch;
  /// honoured once `min_epochs`/`min_steps` are met.
  bool should_stop = false;

  /// The entry point running now (Lightning's `trainer.state.fn`).
  Stage stage() const noexcept { return fn_; }
  int64_t current_epoch() const noexcept { return link_.progress.current_epoch; }
  int64_t global_step() const noexcept { return link_.progress.global_step; }
  int64_t max_epochs() const noexcept { return opts_.max_epochs; }
  int64_t max_steps() const noexcept { return opts_.max_steps; }
  bool sanity_checking() const noexcept { return link_.progress.sanity_checking; }
  bool training() const noexcept { return link_.progress.training; }
  bool validating() const noexcept { return link_.progress.validating; }
  bool testing() const noexcept { return link_.progress.testing; }
  bool predicting() const noexcept { return link_.progress.predicting; }
  const TrainerOptions& options() const noexcept { return opts_.user; }
  /// fast_dev_run's batch count (0: off).
  int64_t fast_dev_run() const noexcept { return opts_.fast_dev_run; }
  /// Batches per training epoch after limits (kUnbounded if the loader has no length).
  int64_t num_training_batches() const noexcept { return num_training_batches_; }
  int64_t num_val_batches() const noexcept { return num_val_batches_; }
  /// Batches of the current (or last) evaluation or prediction loop.
  int64_t num_eval_batches() const noexcept { return num_eval_batches_; }
  /// The batch index inside the running loop (train, validation, test or predict).
  int64_t batch_idx() const noexcept { return batch_idx_; }

  /// Metrics callbacks decide on (Lightning's `trainer.callback_metrics`).
  const std::map<std::string, torch::Tensor>& callback_metrics() {
    publish_step_metrics();
    return maps_.callback;
  }
  /// Metrics sent to loggers.
  const std::map<std::string, torch::Tensor>& logged_metrics() {
    publish_step_metrics();
    return maps_.logged;
  }
  /// Metrics the progress bar shows.
  const std::map<std::string, torch::Tensor>& progress_bar_metrics() {
    publish_step_metrics();
    return maps_.progress;
  }

  /// Sends metrics straight to every logger (rank 0 only; not under fast_dev_run).
  void log_metrics(std::map<std::string, double> metrics, int64_t step) { log_to_loggers(std::move(metrics), step); }

  /// Epoch metrics of the last validation or test run, as loggers see them.
  std::map<std::string, torch::Tensor> eval_metrics() const { return eval_results_.epoch_values(/*logger_only=*/true); }

  precision_type& precision() noexcept { return precision_; }
  strategy_type& strategy() noexcept { return strategy_; }
  callbacks_type& callbacks() noexcept { return callbacks_; }
  loggers_type& loggers() noexcept { return loggers_; }
  template <class C>
  C& callback() noexcept {
    return callbacks_.template get<C>();
  }
  template <class Lg>
  Lg& logger() noexcept {
    return loggers_.template get<Lg>();
  }
  /// The optimizer of the current fit (after `configure_optimizers`).
  auto& optimizer() { return std::get<0>(optimizer_slots()).optimizer; }
  /// Every optimizer with its scheduler config (`slot.optimizer`, `slot.lr_scheduler`).
  optimizer_slots_type& optimizer_slots() {
    if (!slots_) throw std::logic_error("trainer.optimizer(): no optimizer yet; it is created when fit() starts");
    return *slots_;
  }
  /// The model being run, or nullptr outside an entry point.
  Model* lightning_module() noexcept { return model_; }

  int64_t world_size() const noexcept { return strategy_.world_size(); }
  int64_t global_rank() const noexcept { return strategy_.global_rank(); }
  int64_t local_rank() const noexcept { return strategy_.local_rank(); }
  int64_t node_rank() const noexcept { return strategy_.node_rank(); }
  bool is_global_zero() const noexcept { return strategy_.is_global_zero(); }

  // ---------------------------------------------------------------- checkpoints

  /// The first ModelCheckpoint-like callback (Lightning's `trainer.checkpoint_callback`).
  auto& checkpoint_callback() {
    using C = typename detail::first_checkpoint_callback<typename callbacks_type::types>::type;
    static_assert(!std::is_void_v<C>,
                  "lightning: trainer.checkpoint_callback(): the Trainer has no L::ModelCheckpoint in its L::Callbacks<...>");
    return callbacks_.template get<C>();
  }

  /// Where ModelCheckpoint writes unless given a dirpath:
  /// `<first logger's log_dir>/checkpoints`, else `<default_root_dir>/checkpoints`.
  std::filesystem::path default_checkpoint_dir() {
    std::optional<std::filesystem::path> dir;
    if constexpr (loggers_type::size > 0)
      loggers_.for_each([&](auto& lg) {
        if constexpr (requires { lg.log_dir(); })
          if (!dir) dir = std::filesystem::path(lg.log_dir()) / "checkpoints";
      });
    return dir ? *dir : std::filesystem::path(opts_.user.default_root_dir) / "checkpoints";
  }

  /// The run's whole state, laid out as Lightning's checkpoint (what
  /// Python's `torch.load` shows), plus under "lightning_cpp" what resuming
  /// exactly needs: generator states, the position in the epoch, the
  /// epoch's logged values and the hyperparameters' archive.
  checkpoint::Dict dump_checkpoint(bool weights_only = false) {
    namespace ck = checkpoint;
    Model* m = model_ ? model_ : last_model_;
    if (!m) throw std::logic_error("trainer.save_checkpoint(): no model yet: call it during or after fit()");
    auto ckpt = ck::make_dict();
    auto meta = ck::make_dict();
    ckpt.insert("epoch", link_.progress.current_epoch);
    ckpt.insert("global_step", link_.progress.global_step);
    // The layout follows this Lightning release; the library's own version is in lightning_cpp.
    ckpt.insert("pytorch-lightning_version", std::string("2.2.5"));
    ckpt.insert("state_dict", ck::module_state_dict(*m));
    meta.insert("weights_only", weights_only);
    meta.insert("world_size", strategy_.world_size());
    if (!weights_only) {
      ckpt.insert("loops", loops_state_dict());
      ckpt.insert("callbacks", ck::callbacks_state_dict(callbacks_));
      auto optimizers = ck::make_list();
      auto schedulers = ck::make_list();
      if (slots_)
        std::apply(
            [&](auto&... slot) {
              auto one = [&](auto& sl) {
                using Slot = std::remove_cvref_t<decltype(sl)>;
                if constexpr (!std::is_same_v<typename Slot::optimizer_type, detail::NoOptimizer>)
                  optimizers.push_back(ck::optimizer_state_dict(sl.optimizer));
                if constexpr (Slot::has_scheduler) schedulers.push_back(sl.lr_scheduler.scheduler.state_dict());
              };
              (one(slot), ...);
            },
            *slots_);
      ckpt.insert("optimizer_states", optimizers);
      ckpt.insert("lr_schedulers", schedulers);
      if constexpr (requires { precision_.state_dict(); }) {
        auto ps = precision_.state_dict();
        if (ps.size() > 0) ckpt.insert("MixedPrecision", ps);
      }
      meta.insert("rng_states", ck::rng_state());
      meta.insert("fit_state", fit_state_dict());
      meta.insert("results", train_results_.state_dict());
      meta.insert("metrics", metric_maps_state_dict());
      // Gradients accumulated by batches that have not stepped yet.
      if (pos_.phase != detail::LoopPhase::idle && pos_.phase != detail::LoopPhase::epoch_start &&
          pos_.phase != detail::LoopPhase::epoch_end && !pos_.stepped && opts_.accumulate > 1) {
        auto grads = ck::make_list();
        for (const auto& p : m->parameters()) {
          torch::Tensor g = p.grad();
          // Unsynced (no_sync) gradients differ by rank; their mean continues
          // the accumulation exactly, since the next sync averages linearly.
          if constexpr (is_distributed)
            if (g.defined()) g = strategy_.reduce(g, Reduce::mean);
          grads.push_back(g.defined() ? c10::IValue(g) : c10::IValue());
        }
        meta.insert("accumulated_grads", grads);
      }
    }
    ckpt.insert("hparams_name", std::string("hparams"));
    ckpt.insert("hyper_parameters", ck::hparams_dict(m->hparams()));
    meta.insert("hparams_archive", ck::hparams_to_archive(m->hparams()));
    ckpt.insert(std::string(ck::kMetaKey), meta);
    callbacks_.for_each([&](auto& cb) {
      using C = std::remove_cvref_t<decltype(cb)>;
      if constexpr (hooks::on_save_checkpoint::check_callback<C, Trainer&, Model&, ck::Dict&>())
        cb.on_save_checkpoint(*this, *m, ckpt);
    });
    if constexpr (hooks::on_save_checkpoint::check_module<Model, ck::Dict&>()) m->on_save_checkpoint(ckpt);
    return ckpt;
  }

  /// Writes dump_checkpoint() to `path` atomically (a temporary file,
  /// fsync, rename): a crash mid-save leaves the previous file whole.
  /// Only rank 0 writes.
  void save_checkpoint(const std::filesystem::path& path, bool weights_only = false) {
    auto ckpt = dump_checkpoint(weights_only);
    if (strategy_.is_global_zero()) checkpoint::write(path, std::move(ckpt));
    strategy_.barrier();
  }

 private:
  // ---------------------------------------------------------------- construction

  template <class C>
  void place(C&& c) {
    using T = std::remove_cvref_t<C>;
    if constexpr (callbacks_type::template contains<T>) callbacks_.set(std::forward<C>(c));
    else if constexpr (loggers_type::template contains<T>) loggers_.set(std::forward<C>(c));
    else if constexpr (std::is_same_v<T, optimizer_policy_type>) optimizer_policy_.emplace(std::forward<C>(c));
    else if constexpr (std::is_same_v<T, precision_type>) precision_ = std::forward<C>(c);
    else if constexpr (std::is_same_v<T, strategy_type>) strategy_ = std::forward<C>(c);
    else
      static_assert(detail::always_false<T>,
                    "lightning: a Trainer constructor argument matches none of its callbacks, loggers or policies; "
                    "list its type in L::Callbacks<...> or L::Loggers<...>, or name the policy in Trainer<...>");
  }


  /// Under DDP: loggers write on rank 0 only, and every rank uses the
  /// version_N rank 0 chose (checkpoint paths derive from it).
  void share_run_directory() {
    if constexpr (loggers_type::size > 0)
      loggers_.for_each([&](auto& lg) {
        if constexpr (requires { lg.set_rank_zero(true); }) lg.set_rank_zero(strategy_.is_global_zero());
        if constexpr (requires { lg.version(); lg.set_version(0); }) {
          const int64_t v = strategy_.is_global_zero() ? lg.version() : 0;
          lg.set_version(static_cast<int>(strategy_.broadcast(v, 0)));
        }
      });
  }

  /// Lightning's order: prepare_data on local rank 0 of each node (global
  /// rank 0 only if the datamodule says `prepare_data_per_node = false`),
  /// everyone waits for it, then setup on every rank.
  template <class DM>
  void prepare_datamodule(DM& dm, Stage stage) {
    if constexpr (requires { dm.prepare_data(); }) {
      bool per_node = true;
      if constexpr (requires { bool(dm.prepare_data_per_node); }) per_node = dm.prepare_data_per_node;
      if (per_node ? strategy_.local_rank() == 0 : strategy_.is_global_zero()) dm.prepare_data();
      strategy_.barrier();
    }
    if constexpr (requires { dm.setup(stage); }) dm.setup(stage);
  }

  // ---------------------------------------------------------------- data on this rank

  /// What a loop walks on this rank: the loader itself in one process; under
  /// a distributed strategy its shard (`even`: same count on every rank, for
  /// training; otherwise every sample exactly once, for evaluation).
  template <class L>
  decltype(auto) shard(L& loader, bool even) {
    auto& src = data::iterable(loader);
    using S = std::remove_cvref_t<decltype(src)>;
    if constexpr (!is_distributed) {
      return (src);
    } else if constexpr (data::SelfSharding<S>) {
      src.set_shard(strategy_.global_rank(), strategy_.world_size(), even);
      return (src);
    } else if constexpr (data::ShardedBySampler<S>) {
      return (src);
    } else {
      return data::Strided<S>(src, strategy_.global_rank(), strategy_.world_size(), even, data::length(loader));
    }
  }
  template <class L>
  std::optional<int64_t> shard_length(L& loader, bool even) {
    decltype(auto) s = shard(loader, even);
    return data::length(s);
  }

  /// Every rank needs a batch if any has one: an empty shard (fewer batches
  /// or samples than ranks) would leave the others waiting in a collective.
  void check_shards(const std::optional<int64_t>& len, const char* what) {
    if constexpr (is_distributed) {
      if (!len) return;  // unknown lengths are agreed batch by batch
      const auto t = torch::tensor({*len, -*len}, torch::kLong);
      const auto m = strategy_.reduce(t, Reduce::min);
      const int64_t fewest = m[0].template item<int64_t>(), most = -m[1].template item<int64_t>();
      if (fewest == 0 && most > 0)
        throw std::invalid_argument(std::string("lightning: the ") + what + " data gives rank(s) no batch under DDP (" +
                                    std::to_string(strategy_.world_size()) + " ranks, at most " + std::to_string(most) +
                                    " batch(es) per rank): every rank needs at least one; use more samples than "
                                    "ranks or fewer ranks");
    } else {
      (void)len, (void)what;
    }
  }

  static torch::Tensor sync_thunk(void* self, const torch::Tensor& t, Reduce r) {
    return static_cast<Trainer*>(self)->strategy_.reduce(t, r);
  }
  void setup_result_sync() {
    if constexpr (is_distributed) {
      if (strategy_.world_size() > 1) {
        train_results_.set_sync({this, &Trainer::sync_thunk}, /*steps=*/true);
        eval_results_.set_sync({this, &Trainer::sync_thunk}, /*steps=*/false);
      }
    }
  }

  // ---------------------------------------------------------------- hooks

  void enter(detail::Fx fx) noexcept {
    link_.fx = fx;
    ++link_.call_id;
  }

  template <class Hook, class... A>
  void module_hook(A&... a) {
    if constexpr (Hook::template check_module<Model, A&...>()) {
      enter(Hook::fx);
      Hook::call(*model_, a...);
    }
  }

  /// Calls the hook on every callback of `phase` (all phases when -1).
  template <class Hook, int phase = -1, class... A>
  void callback_hook(A&... a) {
    callbacks_.for_each([&](auto& cb) {
      using C = std::remove_cvref_t<decltype(cb)>;
      if constexpr (phase < 0 || detail::callback_phase<C>() == phase) {
        if constexpr (Hook::template check_callback<C, Trainer&, Model&, A&...>()) {
          enter(Hook::fx);
          Hook::call(cb, *this, *model_, a...);
        }
      }
    });
  }

  /// Callbacks first, then the module: Lightning's order for most hooks.
  template <class Hook, class... A>
  void hook(A&... a) {
    callback_hook<Hook>(a...);
    module_hook<Hook>(a...);
  }

  template <class B>
  static int64_t batch_size_thunk(const void* b) {
    return data::extract_batch_size(*static_cast<const B*>(b));
  }

  // ---------------------------------------------------------------- batches

  template <class B>
  auto to_device(B&& batch) {
    using T = std::remove_cvref_t<B>;
    if constexpr (requires { model_->transfer_batch_to_device(T(batch), strategy_.root_device(), int64_t{0}); }) {
      return model_->transfer_batch_to_device(T(std::forward<B>(batch)), strategy_.root_device(), int64_t{0});
    } else if constexpr (requires { transfer_batch_to_device(T(batch), strategy_.root_device()); }) {
      // A user's ADL customization point for their own batch type.
      return transfer_batch_to_device(T(std::forward<B>(batch)), strategy_.root_device());
    } else {
      return precision_.convert_input(strategy_.batch_to_device(T(std::forward<B>(batch))));
    }
  }

  int64_t resolve_num_batches(std::optional<int64_t> len, const BatchCount& limit, const char* name) const {
    if (limit.is_count()) return len ? std::min(*len, limit.count()) : limit.count();
    const double f = limit.fraction();
    if (!len) {
      if (f == 1.0) return detail::kUnbounded;
      throw std::invalid_argument(std::string(name) + " = " + std::to_string(f) +
                                  " is a fraction, but the loader has no length: pass a batch count instead");
    }
    const auto n = static_cast<int64_t>(static_cast<double>(*len) * f);
    if (f > 0.0 && n == 0)
      throw std::invalid_argument("You requested to check " + std::to_string(f) + " of the loader but " +
                                  std::to_string(f) + " * " + std::to_string(*len) +
                                  " < 1. Please increase the `" + name + "` argument. Try at least `" + name +
                                  "=" + std::to_string(1.0 / static_cast<double>(*len)) + "`");
    return n;
  }

  // ---------------------------------------------------------------- metrics

  void publish_step_metrics() { train_results_.publish_step(maps_); }

  static std::map<std::string, double> to_host(const std::map<std::string, torch::Tensor>& m) {
    std::map<std::string, double> out;
    for (const auto& [k, v] : m) out[k] = v.template item<double>();
    return out;
  }

  /// Sends `metrics` (with the epoch) to every logger at `step`.
  void log_to_loggers(std::map<std::string, double> metrics, int64_t step) {
    if constexpr (loggers_type::size > 0) {
      if (metrics.empty() || opts_.fast_dev_run > 0 || !strategy_.is_global_zero()) return;
      metrics["epoch"] = static_cast<double>(link_.progress.current_epoch);
      loggers_.for_each([&](auto& lg) { lg.log_metrics(metrics, step); });
    }
  }

  void log_hyperparams(Model& model) {
    if constexpr (loggers_type::size > 0) {
      if (opts_.fast_dev_run > 0 || !strategy_.is_global_zero()) return;
      loggers_.for_each([&](auto& lg) {
        if constexpr (requires { lg.log_hyperparams(model.hparams()); }) lg.log_hyperparams(model.hparams());
      });
    }
  }

  void log_step_metrics() {
    if constexpr (loggers_type::size > 0) {
      std::map<std::string, double> row;
      for (auto& e : train_results_.entries())
        if (e.on_step && e.logger && e.step_value.defined())
          row[e.on_epoch ? e.name + "_step" : e.name] = e.step_value.template item<double>();
      log_to_loggers(std::move(row), link_.progress.global_step - 1);
    }
  }

  void log_epoch_metrics(const detail::ResultCollection& results) {
    if constexpr (loggers_type::size > 0) {
      log_to_loggers(to_host(results.epoch_values(/*logger_only=*/true)), link_.progress.global_step - 1);
    }
  }

  // ---------------------------------------------------------------- checkpoint state

  /// Lightning's `loops` entry (progress counters), for readers of the file.
  checkpoint::Dict loops_state_dict() const {
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
    auto fit = ck::make_dict();
    fit.insert("state_dict", ck::make_dict());
    fit.insert("epoch_progress", progress(link_.progress.current_epoch, link_.progress.current_epoch));
    auto batches = progress(total_batch_idx_, pos_.phase == detail::LoopPhase::idle ? 0 : pos_.batch_idx);
    batches.insert("is_last_batch", pos_.is_last);
    fit.insert("epoch_loop.batch_progress", batches);
    auto epoch_loop = ck::make_dict();
    epoch_loop.insert("_batches_that_stepped", link_.progress.global_step);
    fit.insert("epoch_loop.state_dict", epoch_loop);
    auto loops = ck::make_dict();
    loops.insert("fit_loop", fit);
    return loops;
  }

  checkpoint::Dict fit_state_dict() const {
    auto d = checkpoint::make_dict();
    d.insert("phase", static_cast<int64_t>(pos_.phase));
    d.insert("batch_idx", pos_.batch_idx);
    d.insert("is_last", pos_.is_last);
    d.insert("stepped", pos_.stepped);
    d.insert("total_batch_idx", total_batch_idx_);
    d.insert("should_stop", should_stop);
    d.insert("epoch_start_rng", epoch_start_rng_.defined() ? c10::IValue(epoch_start_rng_) : c10::IValue());
    return d;
  }

  checkpoint::Dict metric_maps_state_dict() const {
    auto out = checkpoint::make_dict();
    auto put = [&](const char* key, const std::map<std::string, torch::Tensor>& m) {
      auto d = checkpoint::make_dict();
      for (const auto& [k, v] : m) d.insert(k, v);
      out.insert(key, d);
    };
    put("callback", maps_.callback);
    put("logged", maps_.logged);
    put("progress", maps_.progress);
    return out;
  }

  void load_metric_maps(const checkpoint::Dict& d) {
    auto take = [&](const char* key, std::map<std::string, torch::Tensor>& m) {
      m.clear();
      for (const auto& e : checkpoint::get<checkpoint::Dict>(d, key, "lightning_cpp.metrics"))
        m[e.key().toStringRef()] = e.value().toTensor();
    };
    take("callback", maps_.callback);
    take("logged", maps_.logged);
    take("progress", maps_.progress);
  }

  /// `ckpt_path` as given, or what "last"/"best" name (Lightning's rules).
  /// Empty: "last" was asked for but there is none (Lightning then starts afresh).
  std::filesystem::path resolve_ckpt_path(const std::string& p) {
    if (p != "best" && p != "last") return p;
    std::string found;
    bool has_callback = false;
    callbacks_.for_each([&](auto& cb) {
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
    const std::filesystem::path root = opts_.user.default_root_dir;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const auto& f = it->path();
      if (it.depth() > 3 || f.extension() != ".ckpt" || !f.filename().string().starts_with("last")) continue;
      if (f.parent_path().filename() != "checkpoints") continue;
      const auto t = std::filesystem::last_write_time(f, ec);
      if (newest.empty() || t > newest_time) newest = f, newest_time = t;
    }
    if (newest.empty())
      std::cerr << "lightning: fit(..., {.ckpt_path = \"last\"}) is set, but there is no last checkpoint available. "
                   "No checkpoint will be loaded.\n";
    return newest;
  }

  /// The module's weights, strictly (every mismatch listed, nothing partial).
  void restore_model(const checkpoint::Dict& ckpt) {
    checkpoint::load_module_state_dict(*model_, checkpoint::get<checkpoint::Dict>(ckpt, "state_dict", "the checkpoint"),
                                       /*strict=*/true, "the module");
  }

  /// Optimizers, schedulers, precision, callbacks, loop progress and logged
  /// values; the generator states are applied when the loop gets there.
  /// A checkpoint fit() can resume from: written by this library's Trainer, not weights only.
  static void check_resumable(const checkpoint::Dict& ckpt) {
    namespace ck = checkpoint;
    if (!ck::contains(ckpt, ck::kMetaKey))
      throw CheckpointError("lightning: the checkpoint is not one lightning-cpp's Trainer wrote and verified (it has "
                            "no '" + std::string(ck::kMetaKey) + "' entry, or no valid integrity record: a Lightning "
                            "checkpoint, or one edited or re-saved in Python): Model::load_from_checkpoint can take its "
                            "weights, but fit() cannot resume from it");
    const auto meta = ck::get<ck::Dict>(ckpt, ck::kMetaKey, "the checkpoint");
    if (ck::get_or<bool>(meta, "weights_only", ck::kMetaKey, false))
      throw CheckpointError("lightning: the checkpoint was saved with save_weights_only: it holds the weights but no "
                            "optimizer, scheduler or loop state, so fit() cannot resume from it; use "
                            "Model::load_from_checkpoint for the weights");
  }

  detail::ResumeState restore_training_state(const checkpoint::Dict& ckpt) {
    namespace ck = checkpoint;
    const auto meta = ck::get<ck::Dict>(ckpt, ck::kMetaKey, "the checkpoint");
    const auto optimizers = ck::get<ck::List>(ckpt, "optimizer_states", "the checkpoint");
    const auto schedulers = ck::get<ck::List>(ckpt, "lr_schedulers", "the checkpoint");
    std::size_t oi = 0, si = 0, n_opt = 0, n_sched = 0;
    if (slots_)
      std::apply(
          [&](auto&... slot) {
            auto count = [&](auto& sl) {
              using Slot = std::remove_cvref_t<decltype(sl)>;
              n_opt += !std::is_same_v<typename Slot::optimizer_type, detail::NoOptimizer>;
              n_sched += Slot::has_scheduler;
            };
            (count(slot), ...);
          },
          *slots_);
    if (optimizers.size() != n_opt || schedulers.size() != n_sched)
      throw CheckpointError("lightning: the checkpoint has " + std::to_string(optimizers.size()) + " optimizer(s) and " +
                            std::to_string(schedulers.size()) + " scheduler(s); configure_optimizers() made " +
                            std::to_string(n_opt) + " and " + std::to_string(n_sched));
    if (slots_)
      std::apply(
          [&](auto&... slot) {
            auto one = [&](auto& sl) {
              using Slot = std::remove_cvref_t<decltype(sl)>;
              if constexpr (!std::is_same_v<typename Slot::optimizer_type, detail::NoOptimizer>) {
                const std::string where = "optimizer_states[" + std::to_string(oi) + "]";
                const c10::IValue v = optimizers.get(oi++);
                if (!v.isGenericDict()) throw CheckpointError("lightning: checkpoint: " + where + " should be a dict");
                ck::load_optimizer_state_dict(sl.optimizer, v.toGenericDict(), where);
              }
              if constexpr (Slot::has_scheduler) {
                const c10::IValue v = schedulers.get(si++);
                if (!v.isGenericDict()) throw CheckpointError("lightning: checkpoint: lr_schedulers entries should be dicts");
                sl.lr_scheduler.scheduler.load_state_dict(v.toGenericDict());
              }
            };
            (one(slot), ...);
          },
          *slots_);
    if constexpr (requires(ck::Dict d) { precision_.load_state_dict(d); })
      if (ck::contains(ckpt, "MixedPrecision"))
        precision_.load_state_dict(ck::get<ck::Dict>(ckpt, "MixedPrecision", "the checkpoint"));
    ck::load_callbacks_state_dict(callbacks_, ck::get<ck::Dict>(ckpt, "callbacks", "the checkpoint"));

    detail::ResumeState rs;
    const auto fs = ck::get<ck::Dict>(meta, "fit_state", ck::kMetaKey);
    const char* w = "lightning_cpp.fit_state";
    rs.pos.phase = static_cast<detail::LoopPhase>(ck::get<int64_t>(fs, "phase", w));
    // Mid-epoch, the batches already seen depend on how the data was sharded.
    if (const auto ws = ck::get_or<int64_t>(meta, "world_size", ck::kMetaKey, 1);
        ws != strategy_.world_size() && rs.pos.phase != detail::LoopPhase::idle &&
        rs.pos.phase != detail::LoopPhase::epoch_start)
      throw CheckpointError("lightning: the checkpoint was saved mid-epoch by " + std::to_string(ws) +
                            " process(es); resuming it with " + std::to_string(strategy_.world_size()) +
                            " would replay a different split of the epoch. Resume with the same devices * num_nodes, "
                            "or from a checkpoint saved at an epoch's end");
    rs.pos.batch_idx = ck::get<int64_t>(fs, "batch_idx", w);
    rs.pos.is_last = ck::get<bool>(fs, "is_last", w);
    rs.pos.stepped = ck::get<bool>(fs, "stepped", w);
    rs.epoch_start_rng = ck::get_or<torch::Tensor>(fs, "epoch_start_rng", w, {});
    rs.rng = ck::get<ck::Dict>(meta, "rng_states", ck::kMetaKey);
    link_.progress.current_epoch = ck::get<int64_t>(ckpt, "epoch", "the checkpoint");
    link_.progress.global_step = ck::get<int64_t>(ckpt, "global_step", "the checkpoint");
    total_batch_idx_ = ck::get<int64_t>(fs, "total_batch_idx", w);
    should_stop = ck::get<bool>(fs, "should_stop", w);
    train_results_.load_state_dict(ck::get<ck::Dict>(meta, "results", ck::kMetaKey));
    load_metric_maps(ck::get<ck::Dict>(meta, "metrics", ck::kMetaKey));
    if (ck::contains(meta, "accumulated_grads")) {
      const auto grads = ck::get<ck::List>(meta, "accumulated_grads", ck::kMetaKey);
      auto params = model_->parameters();
      if (grads.size() != params.size())
        throw CheckpointError("lightning: checkpoint: accumulated_grads has " + std::to_string(grads.size()) +
                              " entries, the module has " + std::to_string(params.size()) + " parameters");
      for (std::size_t i = 0; i < params.size(); ++i) {
        const c10::IValue g = grads.get(i);
        if (g.isTensor()) params[i].mutable_grad() = g.toTensor().clone();
      }
    }
    callbacks_.for_each([&](auto& cb) {
      using C = std::remove_cvref_t<decltype(cb)>;
      if constexpr (hooks::on_load_checkpoint::check_callback<C, Trainer&, Model&, const ck::Dict&>())
        cb.on_load_checkpoint(*this, *model_, ckpt);
    });
    if constexpr (hooks::on_load_checkpoint::check_module<Model, const ck::Dict&>()) model_->on_load_checkpoint(ckpt);
    return rs;
  }

  // ---------------------------------------------------------------- fit

  /// Attaches the model for the duration of an entry point, whatever happens.
  struct Attach {
    Trainer& t;
    Attach(Trainer& tr, Model& m) : t(tr) {
      t.model_ = &m;
      t.link_.trainer = &t;
      t.link_.manual_backward = &Trainer::manual_backward_thunk;
      t.link_.manual_step = &Trainer::manual_step_thunk;
      m.lightning_attach_(&t.link_);
      t.link_.results = &t.train_results_;
    }
    ~Attach() {
      t.model_->lightning_attach_(nullptr);
      t.link_.progress.training = t.link_.progress.validating = t.link_.progress.testing =
          t.link_.progress.predicting = t.link_.progress.sanity_checking = false;
      t.link_.fx = detail::Fx::none;
      t.link_.clear_batch();
      t.link_.trainer = nullptr;
      t.model_ = nullptr;
    }
  };

  template <class Body>
  void guarded(Stage stage, Body&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      if constexpr (requires { strategy_.on_exception(e); }) strategy_.on_exception(e);
      hook<hooks::on_exception>(e);
      if constexpr (loggers_type::size > 0)
        loggers_.for_each([](auto& lg) {
          if constexpr (requires { lg.finalize("failed"); }) lg.finalize("failed");
        });
      (void)stage;
      throw;
    }
  }

  // Manual optimization: the module's manual_backward() and LightningOptimizer::step().
  static void manual_backward_thunk(void* self, const torch::Tensor& loss) {
    auto& t = *static_cast<Trainer*>(self);
    const auto fx = t.link_.fx;
    t.template hook<hooks::on_before_backward>(loss);
    t.precision_.backward(loss);
    if constexpr (requires { t.strategy_.after_manual_backward(*t.model_); }) t.strategy_.after_manual_backward(*t.model_);
    t.template hook<hooks::on_after_backward>();
    t.link_.fx = fx;  // later log() calls belong to the hook that called manual_backward
  }
  static bool manual_step_thunk(void* self, void* optimizer) {
    auto& t = *static_cast<Trainer*>(self);
    const auto fx = t.link_.fx;
    bool found = false, stepped = false;
    std::apply(
        [&](auto&... slot) {
          ((static_cast<void*>(&slot.optimizer) == optimizer && !found
                ? (found = true, stepped = t.manual_step(slot.optimizer), true)
                : false) ||
           ...);
        },
        *t.slots_);
    t.link_.fx = fx;
    if (!found) throw std::logic_error("LightningOptimizer::step(): the optimizer is not one of this Trainer's");
    return stepped;
  }
  template <class Opt>
  bool manual_step(Opt& opt) {
    if constexpr (requires { precision_.unscale(opt); }) precision_.unscale(opt);
    hook<hooks::on_before_optimizer_step>(opt);
    const bool really = precision_.optimizer_step(opt);
    ++link_.progress.global_step;
    return really;
  }

  /// The module's `configure_callbacks()`, placed into the callback set.
  void attach_model_callbacks(Model& model) {
    if constexpr (requires { model.configure_callbacks(); }) {
      enter(detail::Fx::configure_callbacks);
      auto cbs = model.configure_callbacks();
      if constexpr (requires { std::tuple_size<decltype(cbs)>::value; })
        std::apply([&](auto&... cb) { (callbacks_.set(std::move(cb)), ...); }, cbs);
      else
        callbacks_.set(std::move(cbs));
    }
  }

  void setup_precision(Model& model) {
    if constexpr (requires { precision_.setup(strategy_.root_device()); }) precision_.setup(strategy_.root_device());
    precision_.convert_module(model);
  }

  void configure_optimizers() {
    if constexpr (module_configures_optimizers) {
      enter(detail::Fx::configure_optimizers);
      slots_.reset();
      slots_.emplace(detail::from_call{[this] { return detail::make_optimizer_slots(model_->configure_optimizers()); }});
    } else if constexpr (has_optimizer_policy) {
      slots_.reset();
      slots_.emplace(detail::from_call{[this] { return detail::make_optimizer_slots(optimizer_policy_->make(*model_)); }});
    }
    if (slots_) std::apply([](auto&... slot) { (slot.rebind(), ...); }, *slots_);
    link_.optimizer_slots = slots_ ? &*slots_ : nullptr;
  }

  template <class TL, class VL>
  void fit_impl(Model& model, TL& train, VL* val, const FitOptions& fo) {
    using train_batch_t = decltype(to_device(std::declval<data::batch_t<TL>>()));
    static_assert(hooks::training_step::check_module<Model, train_batch_t&, int64_t&>(),
                  "lightning: training_step must be callable as training_step(batch, int64_t batch_idx)");
    // Read and verify the checkpoint before anything runs: a bad file fails here.
    std::optional<checkpoint::Dict> ckpt;
    if (!fo.ckpt_path.empty()) {
      const auto path = resolve_ckpt_path(fo.ckpt_path);
      if (!path.empty()) ckpt = checkpoint::read(path);
    }

    Attach attach(*this, model);
    last_model_ = &model;
    fn_ = Stage::fit;
    should_stop = false;
    link_.progress = {};
    total_batch_idx_ = 0;
    pos_ = {};
    epoch_start_rng_ = torch::Tensor();
    maps_ = {};
    guarded(Stage::fit, [&] {
      attach_model_callbacks(model);
      hook<hooks::setup>(stage_fit_);
      strategy_.setup_module(model);
      setup_precision(model);
      if (ckpt) {
        check_resumable(*ckpt);
        restore_model(*ckpt);
      }
      configure_optimizers();
      std::optional<detail::ResumeState> resume;
      if (ckpt) resume = restore_training_state(*ckpt);
      log_hyperparams(model);
      hook<hooks::on_fit_start>();

      setup_result_sync();
      const auto train_len = shard_length(train, true);
      check_shards(train_len, "training");
      train_length_known_ = train_len.has_value();
      num_training_batches_ = resolve_num_batches(train_len, opts_.limit_train, "limit_train_batches");
      constexpr bool has_val = !std::is_same_v<VL, detail::NoLoader> && hooks::validation_step::named<Model>;
      if constexpr (has_val) {
        const auto val_len = shard_length(*val, false);
        check_shards(val_len, "validation");
        num_val_batches_ = resolve_num_batches(val_len, opts_.limit_val, "limit_val_batches");
        resolve_val_check_batch();
        if (!resume) run_sanity_check(*val);  // as Lightning, not when restarting
      } else {
        num_val_batches_ = 0;
      }

      if (num_training_batches_ > 0) {
        link_.progress.training = true;
        hook<hooks::on_train_start>();
        const detail::ResumeState* rs = resume ? &*resume : nullptr;
        // Between epochs, the generators continue from the checkpoint's state.
        if (rs && (rs->pos.phase == detail::LoopPhase::idle || rs->pos.phase == detail::LoopPhase::epoch_start))
          checkpoint::set_rng_state(rs->rng);
        while (!fit_done()) {
          run_train_epoch(train, val, rs);
          rs = nullptr;
          ++link_.progress.current_epoch;
          pos_ = {};
        }
        hook<hooks::on_train_end>();
        link_.progress.training = false;
      }
      hook<hooks::on_fit_end>();
      hook<hooks::teardown>(stage_fit_);
      if constexpr (loggers_type::size > 0)
        loggers_.for_each([](auto& lg) {
          if constexpr (requires { lg.finalize("success"); }) lg.finalize("success");
        });
    });
  }

  bool can_stop_early() const noexcept {
    return link_.progress.current_epoch >= opts_.min_epochs && link_.progress.global_step >= opts_.min_steps;
  }
  bool max_steps_reached() const noexcept {
    return opts_.max_steps != -1 && link_.progress.global_step >= opts_.max_steps;
  }
  bool fit_done() const noexcept {
    if (max_steps_reached()) return true;
    if (opts_.max_epochs != -1 && link_.progress.current_epoch >= opts_.max_epochs) return true;
    return should_stop && can_stop_early();
  }

  void resolve_val_check_batch() {
    const auto& v = opts_.val_check_interval;
    if (v.is_count()) {
      if (num_training_batches_ != detail::kUnbounded && v.count() > num_training_batches_ &&
          opts_.check_val_every_n_epoch)
        throw std::invalid_argument("`val_check_interval` (" + std::to_string(v.count()) +
                                    ") must be less than or equal to the number of the training batches (" +
                                    std::to_string(num_training_batches_) +
                                    "). If you want to disable validation set `limit_val_batches` to 0.0 instead. "
                                    "If you want to validate based on the total training batches, set "
                                    "`check_val_every_n_epoch` to unset.");
      val_check_batch_ = v.count();
    } else if (num_training_batches_ == detail::kUnbounded) {
      if (v.fraction() != 1.0)
        throw std::invalid_argument("val_check_interval as a fraction needs a training loader with a length");
      val_check_batch_ = detail::kUnbounded;
    } else {
      val_check_batch_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(num_training_batches_) * v.fraction()));
    }
  }

  /// Lightning's `_should_check_val_fx`.
  bool should_check_val(int64_t batch_idx, bool is_last) const noexcept {
    if (num_val_batches_ == 0) return false;
    const auto& every = opts_.check_val_every_n_epoch;
    if (every && (link_.progress.current_epoch + 1) % *every != 0) return false;
    if (val_check_batch_ == detail::kUnbounded) return is_last;
    if (should_stop && can_stop_early()) return true;
    const int64_t it = every ? batch_idx : total_batch_idx_;
    return (it + 1) % val_check_batch_ == 0;
  }

  template <class VL>
  void run_sanity_check(VL& val) {
    const int64_t n = opts_.num_sanity_val_steps == -1 ? num_val_batches_
                                                       : std::min(opts_.num_sanity_val_steps, num_val_batches_);
    if (n <= 0) return;
    link_.progress.sanity_checking = true;
    callback_hook<hooks::on_sanity_check_start>();
    run_evaluation<false>(val, n, /*sanity=*/true);
    callback_hook<hooks::on_sanity_check_end>();
    link_.progress.sanity_checking = false;
  }

  /// One training epoch; with `resume`, the epoch a checkpoint was taken
  /// in, continued from where it was (the batches before it are skipped
  /// over in the same order, the generators restored).
  template <class TL, class VL>
  void run_train_epoch(TL& train, VL* val, const detail::ResumeState* resume) {
    using detail::LoopPhase;
    auto& progress = link_.progress;
    const LoopPhase rphase = resume ? resume->pos.phase : LoopPhase::idle;
    const bool mid = rphase != LoopPhase::idle && rphase != LoopPhase::epoch_start;
    data::set_epoch(train, progress.current_epoch);
    if (!mid) train_results_.reset();
    link_.results = &train_results_;
    model_->train();
    pos_ = {LoopPhase::epoch_start, 0, false, false};
    if (!mid) hook<hooks::on_train_epoch_start>();

    auto&& src = shard(train, /*even=*/true);
    // Without a known length, ranks agree on each epoch's last batch.
    [[maybe_unused]] const bool agree_each_batch = is_distributed && !train_length_known_;
    // The loader's order may come from torch's generator (LibTorch's
    // RandomSampler): a resumed epoch replays the state it started with.
    if (mid && resume->epoch_start_rng.defined()) detail::set_cpu_rng_state(resume->epoch_start_rng);
    epoch_start_rng_ = detail::cpu_rng_state();
    auto it = std::begin(src);
    auto end = std::end(src);
    const int64_t limit = num_training_batches_;
    const int64_t K = opts_.accumulate;
    int64_t batch_idx = 0;
    batch_idx_ = 0;

    // What follows a batch: validation when due, step schedulers, the logged row.
    auto finish_batch = [&](int64_t bi, bool is_last, BatchResult r, bool validate) {
      // A stop asked for on one rank mid-epoch stops every rank at this batch
      // (one small allreduce per batch: a rank leaving alone would hang the others).
      if constexpr (is_distributed) should_stop = strategy_.reduce_boolean_decision(should_stop, /*all=*/false);
      if constexpr (!std::is_same_v<VL, detail::NoLoader> && hooks::validation_step::named<Model>) {
        if (validate && should_check_val(bi, is_last)) {
          pos_.phase = LoopPhase::in_validation;
          run_evaluation<false>(*val, num_val_batches_, /*sanity=*/false);
          link_.results = &train_results_;
        }
      }
      if (r == BatchResult::stepped) update_lr_schedulers<true>(Interval::step, bi);
      // After validation, as Lightning writes its rows.
      if constexpr (loggers_type::size > 0)
        if (r == BatchResult::stepped && link_.progress.global_step % opts_.log_every_n_steps == 0) log_step_metrics();
      ++total_batch_idx_;
      return !(max_steps_reached() || (should_stop && can_stop_early())) && !is_last;
    };

    bool more = it != end && limit > 0;
    if constexpr (is_distributed)
      if (agree_each_batch) more = strategy_.reduce_boolean_decision(more, /*all=*/true);
    if (mid) {
      const auto& rp = resume->pos;
      const bool batch_done = rphase != LoopPhase::in_batch;
      if (rphase != LoopPhase::epoch_end)
        for (int64_t i = 0, n = rp.batch_idx + (batch_done ? 1 : 0); i < n && it != end; ++i) ++it;
      checkpoint::set_rng_state(resume->rng);
      if (rphase == LoopPhase::epoch_end) {
        more = false;
      } else if (batch_done) {
        pos_ = rp;
        batch_idx_ = rp.batch_idx;
        more = finish_batch(rp.batch_idx, rp.is_last,
                            rp.stepped ? BatchResult::stepped : BatchResult::not_stepped,
                            rphase == LoopPhase::after_batch);
        batch_idx = rp.batch_idx + 1;
        more = more && it != end && batch_idx < limit;
      } else {
        batch_idx = rp.batch_idx;
        more = it != end && batch_idx < limit;
      }
    }
    while (more) {
      pos_ = {LoopPhase::in_batch, batch_idx, false, false};
      auto batch = to_device(*it);
      ++it;
      bool is_last = batch_idx + 1 >= limit || it == end;
      // The epoch ends on every rank at the first rank that runs out.
      if constexpr (is_distributed)
        if (agree_each_batch) is_last = !strategy_.reduce_boolean_decision(!is_last, /*all=*/true);
      pos_.is_last = is_last;
      link_.set_batch(batch, &batch_size_thunk<decltype(batch)>);
      batch_idx_ = batch_idx;

      const BatchResult r = run_training_batch(batch, batch_idx, is_last, K);
      if (r == BatchResult::end_epoch) break;  // on_train_batch_start returned -1
      more = finish_batch(batch_idx, is_last, r, /*validate=*/true);
      ++batch_idx;
    }
    link_.clear_batch();

    pos_.phase = LoopPhase::epoch_end;
    if (rphase != LoopPhase::epoch_end) {
      // Epoch values are visible to on_train_epoch_end, and values it logs are too.
      train_results_.publish_epoch(maps_);
      callback_hook<hooks::on_train_epoch_end, 0>();
      module_hook<hooks::on_train_epoch_end>();
      callback_hook<hooks::on_train_epoch_end, 1>();
      callback_hook<hooks::on_train_epoch_end, 2>();
    }
    train_results_.publish_epoch(maps_);
    update_lr_schedulers<true>(Interval::epoch, progress.current_epoch);
    log_epoch_metrics(train_results_);
    // A stop asked for on one rank (the module, a callback) stops them all.
    if constexpr (is_distributed) should_stop = strategy_.reduce_boolean_decision(should_stop, /*all=*/false);
  }

  enum class BatchResult { end_epoch, stepped, not_stepped };

  template <class Opt>
  void clip(Opt& opt) {
    const double c = opts_.user.gradient_clip_val;
    const auto algo = opts_.user.gradient_clip_algorithm;
    if constexpr (requires { model_->configure_gradient_clipping(opt, c, algo); }) {
      model_->configure_gradient_clipping(opt, c, algo);  // the module's override
    } else {
      if (c > 0) clip_gradients(opt, c, algo);
    }
  }

  /// Steps the schedulers due at this `interval` boundary (`idx`: batch or
  /// epoch index); ReduceLROnPlateau ones (`Plateau`) with their monitored value.
  template <bool Plateau>
  void update_lr_schedulers(Interval interval, int64_t idx) {
    if constexpr (automatic_optimization) {
      std::apply([&](auto&... slot) { (update_lr_scheduler<Plateau>(slot, interval, idx), ...); }, *slots_);
    }
  }
  template <bool Plateau, class Slot>
  void update_lr_scheduler(Slot& slot, Interval interval, int64_t idx) {
    if constexpr (Slot::has_scheduler && detail::PlateauScheduler<typename Slot::scheduler_type> == Plateau) {
      auto& c = slot.lr_scheduler;
      if (c.interval != interval || (idx + 1) % c.frequency != 0) return;
      if constexpr (Plateau) {
        const auto& metrics = callback_metrics();
        auto it = metrics.find(c.monitor);
        if (it == metrics.end()) {
          if (!c.strict) return;
          std::string available;
          for (const auto& [k, v] : metrics) available += (available.empty() ? "`" : ", `") + k + "`";
          throw std::runtime_error("ReduceLROnPlateau conditioned on metric `" + c.monitor +
                                   "` which is not available. Available metrics are: " +
                                   (available.empty() ? std::string("none") : available) +
                                   ". Condition can be set using `monitor` key in the lr scheduler config");
        }
        c.scheduler.step(it->second.template item<double>());
      } else {
        c.scheduler.step();
      }
    }
  }

  /// One batch of automatic (or manual) optimization.
  template <class B>
  BatchResult run_training_batch(B& batch, int64_t batch_idx, bool is_last, int64_t K) {
    callback_hook<hooks::on_train_batch_start>(batch, batch_idx);
    if constexpr (hooks::on_train_batch_start::check_module<Model, B&, int64_t&>()) {
      enter(detail::Fx::on_train_batch_start);
      if constexpr (std::is_void_v<decltype(model_->on_train_batch_start(batch, batch_idx))>) {
        model_->on_train_batch_start(batch, batch_idx);
      } else {
        if (model_->on_train_batch_start(batch, batch_idx) == -1) return BatchResult::end_epoch;
      }
    }

    auto out = [&] {
      [[maybe_unused]] auto scope = precision_.forward_context();
      enter(detail::Fx::training_step);
      if constexpr (std::is_void_v<decltype(model_->training_step(batch, batch_idx))>) {
        static_assert(!automatic_optimization,
                      "lightning: with automatic optimization training_step must return the loss");
        model_->training_step(batch, batch_idx);
        return NoOutput{};
      } else {
        return model_->training_step(batch, batch_idx);
      }
    }();
    bool stepped = false;
    [[maybe_unused]] const int64_t steps_before = link_.progress.global_step;

    if constexpr (automatic_optimization) {
      torch::Tensor loss = detail::loss_of(out);
      if constexpr (is_distributed)
        if (!loss.defined())
          throw std::logic_error("lightning: training_step returned no loss on rank " +
                                 std::to_string(strategy_.global_rank()) +
                                 " under DDP; every rank must step together, so skipping a batch is not supported "
                                 "there: return a loss (e.g. multiplied by 0) instead");
      if (loss.defined()) {  // an undefined loss skips the batch, as returning None does
        auto& opt = optimizer();
        if (K == 1 || batch_idx % K == 0) {
          hook<hooks::on_before_zero_grad>(opt);
          opt.zero_grad();
        }
        if (K != 1) {
          loss = loss / static_cast<double>(K);
          detail::set_loss(out, loss);
        }
        const bool will_step = K == 1 || (batch_idx + 1) % K == 0 || is_last;
        hook<hooks::on_before_backward>(loss);
        if constexpr (requires { strategy_.backward(*model_, loss, true, [] {}); })
          strategy_.backward(*model_, loss, /*sync=*/will_step, [&] { precision_.backward(loss); });
        else
          precision_.backward(loss);
        hook<hooks::on_after_backward>();
        if (will_step) {
          // Lightning's order: unscale -> on_before_optimizer_step -> clip -> step (or skip) -> schedulers.
          if constexpr (requires { precision_.unscale(opt); }) precision_.unscale(opt);
          hook<hooks::on_before_optimizer_step>(opt);
          clip(opt);
          const bool really = precision_.optimizer_step(opt);
          ++link_.progress.global_step;
          stepped = true;
          if (really) {  // a step the loss scaler skipped does not move the schedule
            update_lr_schedulers<false>(Interval::step, batch_idx);
            if (is_last) update_lr_schedulers<false>(Interval::epoch, link_.progress.current_epoch);
          }
        }
      }
    }
    if constexpr (!automatic_optimization) stepped = link_.progress.global_step != steps_before;
    pos_.phase = detail::LoopPhase::after_batch;  // a checkpoint from here on resumes after this batch
    pos_.stepped = stepped;
    hook<hooks::on_train_batch_end>(out, batch, batch_idx);
    return stepped ? BatchResult::stepped : BatchResult::not_stepped;
  }

  // ---------------------------------------------------------------- evaluation

  template <bool Test>
  struct EvalHooks;

  template <bool Test, class L>
  void run_evaluation(L& loader, int64_t limit, bool sanity) {
    using H = EvalHooks<Test>;
    auto& progress = link_.progress;
    const bool was_training = model_->is_training();
    const bool prev_training_flag = progress.training;
    progress.training = false;
    (Test ? progress.testing : progress.validating) = true;
    model_->eval();
    eval_results_.reset();
    link_.results = &eval_results_;
    num_eval_batches_ = limit;
    {
      c10::InferenceMode no_autograd;
      hook<typename H::start>();
      hook<typename H::epoch_start>();
      auto&& src = shard(loader, /*even=*/false);
      int64_t batch_idx = 0;
      for (auto it = std::begin(src), end = std::end(src); batch_idx < limit && it != end; ++it, ++batch_idx) {
        auto batch = to_device(*it);
        link_.set_batch(batch, &batch_size_thunk<decltype(batch)>);
        batch_idx_ = batch_idx;
        hook<typename H::batch_start>(batch, batch_idx);
        auto out = [&] {
          [[maybe_unused]] auto scope = precision_.forward_context();
          enter(H::step::fx);
          if constexpr (std::is_void_v<decltype(H::step::call(*model_, batch, batch_idx))>) {
            H::step::call(*model_, batch, batch_idx);
            return NoOutput{};
          } else {
            return H::step::call(*model_, batch, batch_idx);
          }
        }();
        hook<typename H::batch_end>(out, batch, batch_idx);
      }
      link_.clear_batch();
      hook<typename H::epoch_end>();
      if (!sanity) {
        eval_results_.publish_epoch(maps_);
        log_epoch_metrics(eval_results_);
      }
      hook<typename H::end>();
    }
    if (sanity) eval_results_.reset();  // sanity results are discarded
    (Test ? progress.testing : progress.validating) = false;
    progress.training = prev_training_flag;
    if (was_training) model_->train();
  }

  template <bool Test, class L>
  std::vector<std::map<std::string, double>> evaluate_entry(Model& model, L& loader) {
    using step = std::conditional_t<Test, hooks::test_step, hooks::validation_step>;
    using batch_t = decltype(to_device(std::declval<data::batch_t<L>>()));
    static_assert(step::template named<Model>,
                  "lightning: trainer.validate()/test() need `validation_step(batch, batch_idx)` / "
                  "`test_step(batch, batch_idx)` in the module");
    static_assert(step::template check_module<Model, batch_t&, int64_t&>());
    const Stage stage = Test ? Stage::test : Stage::validate;
    Attach attach(*this, model);
    fn_ = stage;
    std::vector<std::map<std::string, double>> results;
    guarded(stage, [&] {
      hook<hooks::setup>(stage);
      strategy_.setup_module(model);
      setup_precision(model);
      setup_result_sync();
      const auto len = shard_length(loader, false);
      check_shards(len, Test ? "test" : "validation");
      const int64_t n = resolve_num_batches(len, Test ? opts_.limit_test : opts_.limit_val,
                                            Test ? "limit_test_batches" : "limit_val_batches");
      run_evaluation<Test>(loader, n, /*sanity=*/false);
      results.push_back(to_host(eval_results_.epoch_values(/*logger_only=*/true)));
      hook<hooks::teardown>(stage);
    });
    return results;
  }

  template <class L>
  auto predict_entry(Model& model, L& loader) {
    using batch_t = decltype(to_device(std::declval<data::batch_t<L>>()));
    auto step = [this](batch_t& batch, int64_t idx) {
      if constexpr (hooks::predict_step::check_module<Model, batch_t&, int64_t&>()) {
        return model_->predict_step(batch, idx);
      } else {
        return detail::default_predict(*model_, batch);
      }
    };
    using result_t = std::remove_cvref_t<decltype(step(std::declval<batch_t&>(), int64_t{}))>;
    std::vector<result_t> results;
    Attach attach(*this, model);
    link_.results = &eval_results_;  // log() in predict hooks is refused with the hook's name
    fn_ = Stage::predict;
    guarded(Stage::predict, [&] {
      hook<hooks::setup>(stage_predict_);
      strategy_.setup_module(model);
      setup_precision(model);
      const int64_t n = resolve_num_batches(shard_length(loader, false), opts_.limit_predict, "limit_predict_batches");
      num_eval_batches_ = n;
      const bool was_training = model.is_training();
      link_.progress.predicting = true;
      model.eval();
      {
        c10::InferenceMode no_autograd;
        hook<hooks::on_predict_start>();
        hook<hooks::on_predict_epoch_start>();
        auto&& src = shard(loader, /*even=*/false);
        int64_t batch_idx = 0;
        for (auto it = std::begin(src), end = std::end(src); batch_idx < n && it != end; ++it, ++batch_idx) {
          auto batch = to_device(*it);
          batch_idx_ = batch_idx;
          hook<hooks::on_predict_batch_start>(batch, batch_idx);
          enter(detail::Fx::predict_step);
          auto& r = results.emplace_back([&] {
            [[maybe_unused]] auto scope = precision_.forward_context();
            return step(batch, batch_idx);
          }());
          hook<hooks::on_predict_batch_end>(r, batch, batch_idx);
        }
        hook<hooks::on_predict_epoch_end>();
        hook<hooks::on_predict_end>();
      }
      link_.progress.predicting = false;
      if (was_training) model.train();
      hook<hooks::teardown>(stage_predict_);
    });
    return results;
  }

  // ---------------------------------------------------------------- members

  detail::ResolvedOptions opts_;
  [[no_unique_address]] precision_type precision_{};
  strategy_type strategy_{};
  [[no_unique_address]] callbacks_type callbacks_{};
  [[no_unique_address]] loggers_type loggers_{};
  std::optional<optimizer_policy_type> optimizer_policy_{};
  std::optional<optimizer_slots_type> slots_{};
  detail::TrainerLink link_{};
  detail::ResultCollection train_results_{}, eval_results_{};
  detail::MetricMaps maps_{};
  Model* model_ = nullptr;
  Model* last_model_ = nullptr;  // the model of the last fit, for save_checkpoint() after it
  detail::LoopPosition pos_{};
  torch::Tensor epoch_start_rng_;
  int64_t num_training_batches_ = 0, num_val_batches_ = 0, num_eval_batches_ = 0;
  int64_t val_check_batch_ = detail::kUnbounded;
  int64_t total_batch_idx_ = 0;
  int64_t batch_idx_ = 0;
  bool train_length_known_ = true;
  Stage fn_ = Stage::fit;
  Stage stage_fit_ = Stage::fit;
  Stage stage_predict_ = Stage::predict;
};

template <class Model, class... Policies>
template <bool Test>
struct Trainer<Model, Policies...>::EvalHooks {
  using start = std::conditional_t<Test, hooks::on_test_start, hooks::on_validation_start>;
  using end = std::conditional_t<Test, hooks::on_test_end, hooks::on_validation_end>;
  using epoch_start = std::conditional_t<Test, hooks::on_test_epoch_start, hooks::on_validation_epoch_start>;
  using epoch_end = std::conditional_t<Test, hooks::on_test_epoch_end, hooks::on_validation_epoch_end>;
  using batch_start = std::conditional_t<Test, hooks::on_test_batch_start, hooks::on_validation_batch_start>;
  using batch_end = std::conditional_t<Test, hooks::on_test_batch_end, hooks::on_validation_batch_end>;
  using step = std::conditional_t<Test, hooks::test_step, hooks::validation_step>;
};

/// The bare loop: no callbacks, no loggers, 32-bit, one process. Its
/// per-step work is the hand-written loop's (see benchmarks/).
template <class Model, class... Policies>
using BareTrainer = Trainer<Model, Callbacks<>, Loggers<>, Policies...>;

}  // namespace lightning
