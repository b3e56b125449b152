#pragma once
// Trainer<Model, Policies...>: owns *how* the loop runs. Policies (precision,
// strategy, callbacks, loggers, optimizer, checkpoint IO) come in any order and are found by
// kind; each hook is resolved at compile time, and a hook or feature nobody
// defined is not in the binary.
//
// This header holds construction, the entry points, the accessors and the
// state; the loops (loops/: fit, training_epoch, optimization, evaluation,
// prediction) and the connectors (connectors/: checkpoint, logging, data,
// callbacks, optimizers) do the work, as class templates on the Trainer's
// type that live for one call.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "callbacks/callbacks.hpp"
#include "checkpoint/checkpoint_io.hpp"
#include "checkpoint/file.hpp"
#include "connectors/callbacks.hpp"
#include "connectors/checkpoint.hpp"
#include "connectors/data.hpp"
#include "connectors/logging.hpp"
#include "connectors/optimizers.hpp"
#include "data/datamodule.hpp"
#include "data/loader.hpp"
#include "detail/messages.hpp"
#include "detail/results.hpp"
#include "detail/trainer_link.hpp"
#include "hooks.hpp"
#include "defaults.hpp"
#include "loggers/loggers.hpp"
#include "loops/entry.hpp"
#include "loops/evaluation.hpp"
#include "loops/fit.hpp"
#include "loops/optimization/manual.hpp"
#include "loops/prediction.hpp"
#include "loops/training_epoch.hpp"
#include "module.hpp"
#include "optim/optimizer.hpp"
#include "policies/concepts.hpp"
#include "policies/kinds.hpp"
#include "precision/f32.hpp"
#include "stage.hpp"
#include "strategy/single.hpp"
#include "trainer_options.hpp"
#include "trainer_view.hpp"

namespace lightning {

namespace detail {
template <class M>
constexpr bool automatic_optimization() {
  if constexpr (requires { M::automatic_optimization; }) return M::automatic_optimization;
  else return true;
}
}  // namespace detail

template <class Model, class... Policies>
class Trainer {
  static_assert(detail::check_policies<Policies...>());
  static_assert(LightningModuleType<Model>,
                "lightning: Trainer<Model, ...>: Model must derive from L::LightningModule<Model, HParams>");

 public:
  using model_type = Model;
  /// The callbacks policy as given (L::Callbacks<...> keeps Lightning's defaults, L::OnlyCallbacks<...> does not).
  using callbacks_policy_type = detail::find_policy_t<policy_kind::callbacks, Callbacks<>, Policies...>;
  static_assert(detail::all_complete<typename detail::resolve_callbacks<callbacks_policy_type, DefaultCallbacks>::type> &&
                    detail::all_complete<detail::find_policy_t<policy_kind::loggers, DefaultLoggers, Policies...>>,
                "lightning: this Trainer uses Lightning's default components (L::ModelSummary, L::ProgressBar, "
                "L::ModelCheckpoint, L::CSVLogger), whose headers are not included: #include "
                "<lightning/lightning.hpp> (lightning/core.hpp has the bare Trainer only), or name the Trainer's "
                "callbacks and loggers exactly (L::BareTrainer<Model>, L::OnlyCallbacks<...>, L::Loggers<...>)");
  using precision_type = detail::find_policy_t<policy_kind::precision, precision::F32, Policies...>;
  using strategy_type = detail::find_policy_t<policy_kind::strategy, strategy::Single, Policies...>;
  /// The callbacks named in the policies (with Lightning's defaults unless
  /// L::OnlyCallbacks), plus those the module's `configure_callbacks()` adds.
  using callbacks_type =
      connectors::merged_callbacks_t<typename detail::resolve_callbacks<callbacks_policy_type, DefaultCallbacks>::type,
                                     Model>;
  using loggers_type = detail::find_policy_t<policy_kind::loggers, DefaultLoggers, Policies...>;
  using optimizer_policy_type = detail::find_policy_t<policy_kind::optimizer, NoOptimizerPolicy, Policies...>;
  using checkpoint_io_type = detail::find_policy_t<policy_kind::checkpoint_io, AsyncCheckpointIO, Policies...>;

  static constexpr bool automatic_optimization = detail::automatic_optimization<Model>();
  /// Whether the strategy can run several processes (DDP): sharding and result sync.
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
  static_assert(connectors::check_callback_set(static_cast<callbacks_type*>(nullptr)));
  static_assert(detail::check_precision<precision_type, Model>());
  static_assert(detail::check_strategy<strategy_type, Model>());

  /// The optimizers (with their schedulers) as stored: one slot per optimizer.
  using optimizer_slots_type = connectors::optimizer_slots_t<Model, optimizer_policy_type>;
  using optimizer_type = typename std::tuple_element_t<0, optimizer_slots_type>::optimizer_type;
  static_assert(detail::check_precision_steps<precision_type, optimizer_type>());
  static_assert(!automatic_optimization || std::tuple_size_v<optimizer_slots_type> == 1,
                "lightning: automatic optimization steps one optimizer; for several (a GAN's generator and "
                "discriminator), set `static constexpr bool automatic_optimization = false;` in the module and "
                "step them in training_step with optimizers() and manual_backward(), as Lightning 2 requires");

  /// Whether fit validates on a loader of type VL (there is one, and a validation_step).
  template <class VL>
  static constexpr bool validates = !std::is_same_v<VL, loops::NoLoader> && hooks::validation_step::named<Model>;

  /// `Trainer({.max_epochs = 10}, L::ModelCheckpoint({...}), ...)`: each
  /// extra argument replaces the default instance of the callback, logger
  /// or policy of its type.
  template <class... Components>
  explicit Trainer(TrainerOptions options = {}, Components&&... components) : opts_(detail::resolve(options)) {
    static_assert(!has_optimizer_policy || (std::is_same_v<std::remove_cvref_t<Components>, optimizer_policy_type> || ...),
                  "lightning: this Trainer has an L::Optimizer<...> policy: pass its options to the constructor, "
                  "e.g. Trainer(opts, L::Optimizer<torch::optim::SGD>(torch::optim::SGDOptions(0.1)))");
    connectors::Logging<Trainer> logging(*this);
    logging.use_default_root_dir();
    (place(std::forward<Components>(components)), ...);
    apply_default_switches();
    strategy_.setup_environment(opts_.user);
    logging.share_run_directory();
    // A precision the device cannot run (16-mixed on CPU) fails here, not mid-fit.
    precision_.setup(strategy_.root_device());
    if (opts_.user.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
    if (opts_.fast_dev_run > 0)
      detail::rank_zero_info(is_global_zero(), "Running in `fast_dev_run` mode: will run the requested loop using " +
                                                   std::to_string(opts_.fast_dev_run) +
                                                   " batch(es). Logging and checkpointing is suppressed.");
  }

  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // ---------------------------------------------------------------- entry points

  /// Trains on `train` (and validates on `val`, if given); `{.ckpt_path}` resumes.
  template <data::Loader TL>
  void fit(Model& model, TL&& train, const FitOptions& fo = {}) {
    loops::FitLoop<Trainer>(*this).run(model, train, static_cast<loops::NoLoader*>(nullptr), fo);
  }
  template <data::Loader TL, data::Loader VL>
  void fit(Model& model, TL&& train, VL&& val, const FitOptions& fo = {}) {
    loops::FitLoop<Trainer>(*this).run(model, train, &val, fo);
  }
  template <LightningDataModule DM>
  void fit(Model& model, DM& dm, const FitOptions& fo = {}) {
    loops::FitLoop<Trainer>(*this).run(model, dm, fo);
  }

  /// Runs the validation loop once; returns the logged epoch metrics (one map per loader).
  template <data::Loader VL>
  std::vector<std::map<std::string, double>> validate(Model& model, VL&& loader) {
    return loops::EvaluationLoop<Trainer, false>(*this).stage(model, loader);
  }
  template <LightningDataModule DM>
  std::vector<std::map<std::string, double>> validate(Model& model, DM& dm) {
    return loops::EvaluationLoop<Trainer, false>(*this).stage_datamodule(model, dm);
  }

  /// Runs the test loop once; returns the logged epoch metrics, like Lightning.
  template <data::Loader TL>
  std::vector<std::map<std::string, double>> test(Model& model, TL&& loader) {
    return loops::EvaluationLoop<Trainer, true>(*this).stage(model, loader);
  }
  template <LightningDataModule DM>
  std::vector<std::map<std::string, double>> test(Model& model, DM& dm) {
    return loops::EvaluationLoop<Trainer, true>(*this).stage_datamodule(model, dm);
  }

  /// Returns every `predict_step` result (or `forward(batch)` without one).
  template <data::Loader PL>
  auto predict(Model& model, PL&& loader) {
    return loops::PredictionLoop<Trainer>(*this).stage(model, loader);
  }
  template <LightningDataModule DM>
  auto predict(Model& model, DM& dm) {
    return loops::PredictionLoop<Trainer>(*this).stage_datamodule(model, dm);
  }

  // ---------------------------------------------------------------- state

  /// Set by a callback (or the module) to end training after this batch;
  /// honoured once `min_epochs`/`min_steps` are met.
  bool should_stop = false;

  /// The entry point running now (Lightning's `trainer.state.fn`).
  Stage stage() const noexcept { return running_stage_; }
  int64_t current_epoch() const noexcept { return module_link_.progress.current_epoch; }
  int64_t global_step() const noexcept { return module_link_.progress.global_step; }
  int64_t max_epochs() const noexcept { return opts_.max_epochs; }
  int64_t max_steps() const noexcept { return opts_.max_steps; }
  bool sanity_checking() const noexcept { return module_link_.progress.sanity_checking; }
  bool training() const noexcept { return module_link_.progress.training; }
  bool validating() const noexcept { return module_link_.progress.validating; }
  bool testing() const noexcept { return module_link_.progress.testing; }
  bool predicting() const noexcept { return module_link_.progress.predicting; }
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
  /// The checkpoint the running (or last) fit resumed from; empty if none.
  const std::filesystem::path& ckpt_path() const noexcept { return ckpt_path_; }

  /// Metrics callbacks decide on (Lightning's `trainer.callback_metrics`).
  const std::map<std::string, torch::Tensor>& callback_metrics() { return published().callback; }
  /// Metrics sent to loggers.
  const std::map<std::string, torch::Tensor>& logged_metrics() { return published().logged; }
  /// Metrics the progress bar shows.
  const std::map<std::string, torch::Tensor>& progress_bar_metrics() { return published().progress; }

  /// Sends metrics straight to every logger (rank 0 only; not under fast_dev_run).
  void log_metrics(std::map<std::string, double> metrics, int64_t step) {
    connectors::Logging<Trainer>(*this).log_metrics(std::move(metrics), step, /*with_epoch=*/false);
  }

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

  /// Lightning's `trainer.log_dir`: the first logger's directory, else default_root_dir.
  std::string log_dir() {
    std::optional<std::string> dir;
    loggers_.for_each([&](auto& lg) {
      if constexpr (requires { lg.log_dir(); })
        if (!dir) dir = std::string(lg.log_dir());
    });
    return dir ? *dir : opts_.user.default_root_dir;
  }
  /// Optimizer steps the whole fit takes, by Lightning's rule (INT64_MAX: unbounded).
  int64_t estimated_stepping_batches() const noexcept {
    if (opts_.max_epochs == -1) return opts_.max_steps == -1 ? detail::kUnbounded : opts_.max_steps;
    if (num_training_batches_ == detail::kUnbounded) return opts_.max_steps;
    const int64_t per_epoch = (num_training_batches_ + opts_.accumulate - 1) / opts_.accumulate;
    const int64_t total = per_epoch * std::max<int64_t>(opts_.max_epochs, 1);
    return opts_.max_steps != -1 ? std::min(total, opts_.max_steps) : total;
  }
  /// The table behind `module.trainer()` for this Trainer type.
  static const TrainerView::Ops* view_ops_table() noexcept {
    static constexpr TrainerView::Ops ops{
        [](void* t) { return static_cast<Trainer*>(t)->max_epochs(); },
        [](void* t) { return static_cast<Trainer*>(t)->max_steps(); },
        [](void* t) { return static_cast<Trainer*>(t)->estimated_stepping_batches(); },
        [](void* t) { return static_cast<Trainer*>(t)->num_training_batches(); },
        [](void* t) { return static_cast<Trainer*>(t)->is_global_zero(); },
        [](void* t) { return static_cast<Trainer*>(t)->world_size(); },
        [](void* t) { return static_cast<Trainer*>(t)->global_rank(); },
        [](void* t) { return static_cast<Trainer*>(t)->log_dir(); },
        [](void* t) -> const std::map<std::string, torch::Tensor>& {
          return static_cast<Trainer*>(t)->callback_metrics();
        },
        [](void* t) { return static_cast<Trainer*>(t)->should_stop; },
    };
    return &ops;
  }

  int64_t world_size() const noexcept { return strategy_.world_size(); }
  int64_t global_rank() const noexcept { return strategy_.global_rank(); }
  int64_t local_rank() const noexcept { return strategy_.local_rank(); }
  int64_t node_rank() const noexcept { return strategy_.node_rank(); }
  bool is_global_zero() const noexcept { return strategy_.is_global_zero(); }

  // ---------------------------------------------------------------- checkpoints

  /// The first ModelCheckpoint-like callback (Lightning's `trainer.checkpoint_callback`).
  auto& checkpoint_callback() {
    using C = connectors::checkpoint_callback_t<callbacks_type>;
    static_assert(!std::is_void_v<C>,
                  "lightning: trainer.checkpoint_callback(): the Trainer has no L::ModelCheckpoint in its L::Callbacks<...>");
    return callbacks_.template get<C>();
  }

  /// Where ModelCheckpoint writes unless given a dirpath:
  /// `<first logger's log_dir>/checkpoints`, else `<default_root_dir>/checkpoints`.
  std::filesystem::path default_checkpoint_dir() {
    std::optional<std::filesystem::path> dir;
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
    return connectors::Checkpoints<Trainer>(*this).dump(weights_only);
  }

  /// Writes dump_checkpoint() to `path` atomically (a temporary file,
  /// fsync, rename): a crash mid-save leaves the previous file whole.
  /// Only rank 0 writes. During fit, validate, test or predict the write
  /// goes through the checkpoint IO policy (in the background with the
  /// default L::AsyncCheckpointIO; durable before fit's on_fit_end);
  /// called outside them, or with several processes (the others may read
  /// it once past the barrier), the file is durable when this returns.
  void save_checkpoint(const std::filesystem::path& path, bool weights_only = false) {
    auto ckpt = dump_checkpoint(weights_only);
    if (strategy_.is_global_zero()) {
      checkpoint_io_.save_checkpoint(std::move(ckpt), path);
      if (!model_ || strategy_.world_size() > 1) checkpoint_io_.teardown();
    }
    strategy_.barrier();
  }

  /// The checkpoint IO policy (L::AsyncCheckpointIO unless named).
  checkpoint_io_type& checkpoint_io() noexcept { return checkpoint_io_; }

 private:
  template <class>
  friend struct loops::Batches;
  template <class>
  friend struct loops::Entry;
  template <class>
  friend class loops::FitLoop;
  template <class>
  friend class loops::TrainingEpochLoop;
  template <class>
  friend class loops::AutomaticOptimization;
  template <class>
  friend class loops::ManualOptimization;
  template <class, bool>
  friend class loops::EvaluationLoop;
  template <class>
  friend class loops::PredictionLoop;
  template <class>
  friend class connectors::Checkpoints;
  template <class>
  friend class connectors::Data;
  template <class>
  friend class connectors::Logging;
  template <class>
  friend class connectors::Optimizers;
  template <class T, class M>
  friend void connectors::attach_module_callbacks(T&, M&);

  template <class C>
  void place(C&& c) {
    using C0 = std::remove_cvref_t<C>;
    static_assert(!std::is_lvalue_reference_v<C> ||
                      !(callbacks_type::template contains<C0> || loggers_type::template contains<C0>),
                  "lightning: Trainer(options, callback_or_logger): the Trainer keeps its own instance, so the object "
                  "you passed would never see the run (ckpt.best_model_path() would stay empty). Pass it as an "
                  "rvalue (std::move(ckpt), or construct it in the call) and read the Trainer's through "
                  "trainer.checkpoint_callback(), trainer.callback<C>() or trainer.logger<L>()");
    if constexpr (callbacks_type::template contains<C0>) callbacks_.set(std::forward<C>(c));
    else if constexpr (loggers_type::template contains<C0>) loggers_.set(std::forward<C>(c));
    else if constexpr (std::is_same_v<C0, optimizer_policy_type>) optimizer_policy_.emplace(std::forward<C>(c));
    else if constexpr (std::is_same_v<C0, precision_type>) precision_ = std::forward<C>(c);
    else if constexpr (std::is_same_v<C0, strategy_type>) strategy_ = std::forward<C>(c);
    else if constexpr (std::is_same_v<C0, checkpoint_io_type>) checkpoint_io_ = std::forward<C>(c);
    else
      static_assert(loops::detail::always_false<C0>,
                    "lightning: a Trainer constructor argument matches none of its callbacks, loggers or policies; "
                    "list its type in L::Callbacks<...> or L::Loggers<...>, or name the policy in Trainer<...>");
  }

  /// Lightning's switches for its default components: a default the options
  /// turn off sees no hook; one the user listed and the options refuse is an error.
  void apply_default_switches() {
    const auto& o = opts_.user;
    switch_default<ModelCheckpoint>(o.enable_checkpointing, "enable_checkpointing", /*listed_is_error=*/true);
    switch_default<ProgressBar>(o.enable_progress_bar, "enable_progress_bar", /*listed_is_error=*/true);
    switch_default<ModelSummary>(o.enable_model_summary, "enable_model_summary", /*listed_is_error=*/false);
    if (!o.logger) loggers_.switch_off();
  }
  template <class C>
  void switch_default(bool enabled, const char* option, bool listed_is_error) {
    if constexpr (callbacks_type::template contains<C>) {
      if (enabled) return;
      if (detail::names_callback<C, callbacks_policy_type>) {
        if (listed_is_error)
          throw std::invalid_argument(std::string("Trainer was configured with `") + option + "=False` but found `" +
                                      detail::callback_class_name<C>() + "` in callbacks list.");
        return;
      }
      callbacks_.template switch_off<C>();
    }
  }

  // ---------------------------------------------------------------- hooks

  void enter(detail::Fx fx) noexcept {
    module_link_.fx = fx;
    ++module_link_.call_id;
  }

  template <class Hook, class... A>
  void module_hook(A&... a) {
    if constexpr (Hook::template check_module<Model, A&...>()) {
      enter(Hook::fx);
      Hook::call(*model_, a...);
    }
  }

  template <class C, auto order>
  static constexpr bool in_order() {
    if constexpr (std::is_null_pointer_v<decltype(order)>) return true;
    else return callback_order<C>() == order;
  }

  /// Calls the hook on every callback of `order` (on all when none is given).
  template <class Hook, auto order = nullptr, class... A>
  void callback_hook(A&... a) {
    callbacks_.for_each([&](auto& cb) {
      using C = std::remove_cvref_t<decltype(cb)>;
      if constexpr (in_order<C, order>()) {
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

  // Manual optimization reaches the loop through these (the module's type does not depend on the Trainer's).
  static void manual_backward_thunk(void* self, const torch::Tensor& loss) {
    loops::ManualOptimization<Trainer>::backward(self, loss);
  }
  static bool manual_step_thunk(void* self, void* optimizer) { return loops::ManualOptimization<Trainer>::step(self, optimizer); }

  void setup_precision() {
    precision_.setup(strategy_.root_device());
    precision_.convert_module(*model_);
  }

  lightning::detail::MetricMaps& published() {
    train_results_.publish_step(published_metrics_);
    return published_metrics_;
  }

  bool can_stop_early() const noexcept {
    return module_link_.progress.current_epoch >= opts_.min_epochs && module_link_.progress.global_step >= opts_.min_steps;
  }
  bool max_steps_reached() const noexcept { return opts_.max_steps != -1 && module_link_.progress.global_step >= opts_.max_steps; }
  bool fit_done() const noexcept {
    if (max_steps_reached()) return true;
    if (opts_.max_epochs != -1 && module_link_.progress.current_epoch >= opts_.max_epochs) return true;
    return should_stop && can_stop_early();
  }

  // ---------------------------------------------------------------- members

  detail::ResolvedOptions opts_;
  [[no_unique_address]] precision_type precision_{};
  strategy_type strategy_{};
  [[no_unique_address]] callbacks_type callbacks_{};
  [[no_unique_address]] loggers_type loggers_{};
  std::optional<optimizer_policy_type> optimizer_policy_{};
  std::optional<optimizer_slots_type> slots_{};
  detail::TrainerLink module_link_{};  // what the attached module sees of the run
  detail::ResultCollection train_results_{}, eval_results_{};
  detail::MetricMaps published_metrics_{};
  Model* model_ = nullptr;
  Model* last_model_ = nullptr;  // the model of the last fit, for save_checkpoint() after it
  loops::TrainingEpochState epoch_state_{};
  int64_t num_training_batches_ = 0, num_val_batches_ = 0, num_eval_batches_ = 0;
  int64_t val_check_batch_ = detail::kUnbounded;
  int64_t batch_idx_ = 0;
  bool train_length_known_ = true;
  Stage running_stage_ = Stage::fit;
  std::filesystem::path ckpt_path_;
  // Last: destroyed first, finishing its writes while the rest is alive.
  [[no_unique_address]] checkpoint_io_type checkpoint_io_{};
};

/// The bare loop: no callbacks, no loggers, 32-bit, one process. Its
/// per-step work is the hand-written loop's (see benchmarks/).
template <class Model, class... Policies>
using BareTrainer = Trainer<Model, OnlyCallbacks<>, Loggers<>, Policies...>;

}  // namespace lightning
