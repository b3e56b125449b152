#pragma once
// LightningModule: a torch::nn::Module that says *what* to compute. The
// Trainer calls the hooks the derived class defines (found at compile time).
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>
#include <string_view>
#include <utility>

#include "checkpoint/allocation_budget.hpp"
#include "checkpoint/file.hpp"
#include "checkpoint/hparams.hpp"
#include "checkpoint/module_state.hpp"
#include "detail/trainer_link.hpp"
#include "hooks.hpp"
#include "log_options.hpp"
#include "metrics/metric.hpp"
#include "no_hparams.hpp"
#include "optim/clipping.hpp"
#include "optim/configure.hpp"
#include "optim/lightning_optimizer.hpp"
#include "trainer_view.hpp"

namespace lightning {


/// export_onnx's options: lightning/export/onnx.hpp (which to_onnx needs).
struct OnnxOptions;

/// CRTP base of a user module: `struct Lit : L::LightningModule<Lit, Params> {...}`.
/// Holds the hyperparameters and offers `log()`; every hook is optional.
template <class Derived, class HParams = NoHParams>
class LightningModule : public torch::nn::Module {
 public:
  using hparams_type = HParams;

  explicit LightningModule(HParams hparams = {}) : hparams_(std::move(hparams)) {}

  const HParams& hparams() const noexcept { return hparams_; }

  /// Rebuilds the module from a checkpoint: constructed from the stored
  /// hyperparameters (edited by `edit(HParams&)` first, if given), then
  /// given the stored weights, strictly. Lightning's `Model.load_from_checkpoint`.
  /// Building may allocate at most twice the checkpoint's weights (+256 MiB):
  /// hyperparameters that do not match the weights fail before a huge model exists.
  template <class Edit = std::nullptr_t>
  static Derived load_from_checkpoint(const std::filesystem::path& path, Edit&& edit = nullptr) {
    namespace ck = checkpoint;
    const ck::Dict ckpt = ck::read(path);
    const auto state = ck::get<ck::Dict>(ckpt, "state_dict", "the checkpoint");
    HParams h = stored_hparams(ckpt);
    if constexpr (!std::is_null_pointer_v<std::remove_cvref_t<Edit>>) {
      static_assert(std::is_invocable_v<Edit&, HParams&>,
                    "lightning: load_from_checkpoint(path, edit): edit must be callable as edit(HParams&)");
      edit(h);
    }
    Derived m = [&]() -> Derived {
      ck::AllocationBudget budget(2 * ck::tensor_bytes(state) + (std::size_t{256} << 20),
                                  "lightning: checkpoint '" + path.string() +
                                      "': building the module from its hyperparameters takes far more memory than "
                                      "its weights: the hyperparameters do not match the weights");
      if constexpr (std::is_constructible_v<Derived, HParams>) return Derived(h);
      else if constexpr (std::is_same_v<HParams, NoHParams> && std::is_default_constructible_v<Derived>) return Derived();
      else static_assert(std::is_constructible_v<Derived, HParams>,
                         "lightning: load_from_checkpoint needs a constructor Derived(HParams)");
    }();
    ck::load_module_state_dict(m, state, /*strict=*/true, "the module");
    if constexpr (requires(const ck::Dict& d) { m.on_load_checkpoint(d); }) m.on_load_checkpoint(ckpt);
    return m;
  }

  /// 0-based epoch of the running Trainer (0 when none runs).
  int64_t current_epoch() const noexcept { return trainer_link_ ? trainer_link_->progress.current_epoch : 0; }
  /// Optimizer steps taken so far (during `training_step`: the steps before this one).
  int64_t global_step() const noexcept { return trainer_link_ ? trainer_link_->progress.global_step : 0; }
  /// The Trainer running this module (Lightning's `self.trainer`), read-only:
  /// max_epochs(), estimated_stepping_batches(), sanity_checking(),
  /// is_global_zero(), world_size(), log_dir(), callback_metrics(), ...
  /// Outside a Trainer's fit/validate/test/predict: std::logic_error.
  TrainerView trainer() const {
    const detail::TrainerLink* link = require_link("trainer()");
    return TrainerView(link->trainer, static_cast<const TrainerView::Ops*>(link->view_ops), &link->progress);
  }
  /// Read-only loop state of the running Trainer, or nullptr outside one.
  const detail::LoopProgress* trainer_progress() const noexcept { return trainer_link_ ? &trainer_link_->progress : nullptr; }

  /// Logs a value under `name` with Lightning's rules (see README: Logging).
  /// Outside a Trainer it does nothing, as Lightning (which only warns).
  void log(std::string_view name, const torch::Tensor& value, const LogOptions& opts = {}) {
    if (!trainer_link_ || !trainer_link_->results) return;
    trainer_link_->results->log(trainer_link_->fx, trainer_link_->call_id, name, value, opts,
                        [this] { return trainer_link_->current_batch_size(); });
  }
  void log(std::string_view name, double value, const LogOptions& opts = {}) {
    if (!trainer_link_ || !trainer_link_->results) return;
    log(name, torch::scalar_tensor(value, torch::kFloat), opts);
  }
  /// Logs a metric object: its epoch value is `compute()` on the whole
  /// epoch's state, and it is reset when the epoch ends.
  template <metrics::Metric M>
  void log(std::string_view name, M& metric, const LogOptions& opts = {}) {
    if (!trainer_link_ || !trainer_link_->results) return;
    trainer_link_->results->log_metric(trainer_link_->fx, trainer_link_->call_id, name, metric, opts);
  }

  /// Logs each (name, value) pair of a map or of `{{"a", x}, {"b", y}}`.
  template <class Map>
  void log_dict(const Map& values, const LogOptions& opts = {}) {
    for (const auto& [k, v] : values) log(k, v, opts);
  }
  void log_dict(std::initializer_list<std::pair<std::string_view, torch::Tensor>> values, const LogOptions& opts = {}) {
    for (const auto& [k, v] : values) log(k, v, opts);
  }

  // ------------------------------------------------ manual optimization
  // With `static constexpr bool automatic_optimization = false;` the module
  // steps its optimizers itself in training_step, as in Lightning.

  /// The optimizers configure_optimizers() returned, as LightningOptimizers:
  /// one, or a std::tuple of them (`auto [g, d] = optimizers();`).
  template <class D = Derived>
  auto optimizers() {
    auto& slots = optimizer_slots<D>("optimizers()");
    return std::apply(
        [this](auto&... s) {
          if constexpr (sizeof...(s) == 1) return LightningOptimizer(s.optimizer..., trainer_link_);
          else return std::tuple{LightningOptimizer(s.optimizer, trainer_link_)...};
        },
        slots);
  }

  /// The LR schedulers configure_optimizers() returned: one, or a tuple of
  /// references (NoScheduler for an optimizer without one).
  template <class D = Derived>
  decltype(auto) lr_schedulers() {
    auto& slots = optimizer_slots<D>("lr_schedulers()");
    if constexpr (std::tuple_size_v<std::remove_reference_t<decltype(slots)>> == 1)
      return (std::get<0>(slots).lr_scheduler.scheduler);
    else
      return std::apply([](auto&... s) { return std::tie(s.lr_scheduler.scheduler...); }, slots);
  }

  /// loss.backward() through the Trainer's precision (loss scaling), with the
  /// on_before_backward / on_after_backward hooks.
  void manual_backward(const torch::Tensor& loss) {
    auto* link = require_link("manual_backward()");
    link->manual_backward(link->trainer, loss);
  }

  /// Clips the gradients of `opt`'s parameters (Lightning's `self.clip_gradients`).
  template <class Opt>
  void clip_gradients(Opt& opt, double gradient_clip_val,
                      GradClipAlgorithm algorithm = GradClipAlgorithm::norm) {
    if constexpr (requires { opt.optimizer(); }) lightning::clip_gradients(opt.optimizer(), gradient_clip_val, algorithm);
    else lightning::clip_gradients(opt, gradient_clip_val, algorithm);
  }

  /// Only `opt`'s parameters require grad until `untoggle_optimizer`, so a
  /// backward for one optimizer leaves the others' gradients alone.
  template <class Opt>
  void toggle_optimizer(Opt& opt) {
    untoggle_optimizer(opt);
    auto& o = [&]() -> auto& {
      if constexpr (requires { opt.optimizer(); }) return opt.optimizer();
      else return opt;
    }();
    std::vector<const void*> mine;
    for (auto& g : o.param_groups())
      for (auto& p : g.params()) mine.push_back(p.unsafeGetTensorImpl());
    for (auto& p : parameters()) {
      const bool in = std::find(mine.begin(), mine.end(), p.unsafeGetTensorImpl()) != mine.end();
      toggled_.emplace_back(p, p.requires_grad());
      if (!in) p.set_requires_grad(false);
    }
  }
  template <class Opt>
  void untoggle_optimizer(Opt&) {
    for (auto& [p, req] : toggled_) p.set_requires_grad(req);
    toggled_.clear();
  }

  /// Lightning's `to_onnx`: writes this module's graph to `path` (README:
  /// Export). Needs <lightning/export/onnx.hpp> and the ONNX libraries,
  /// which this header does not pull in: nothing is compiled until called.
  template <class D = Derived, class Options = OnnxOptions>
  void to_onnx(const std::string& path, const torch::Tensor& input_sample) {
    static_assert(requires { sizeof(Options); },
                  "lightning: to_onnx() needs #include <lightning/export/onnx.hpp> (link onnx, onnx_proto, protobuf)");
    export_onnx(static_cast<D&>(*this), input_sample, path, Options{});
  }
  template <class D = Derived, class Options = OnnxOptions>
  void to_onnx(const std::string& path, const torch::Tensor& input_sample, const Options& options) {
    export_onnx(static_cast<D&>(*this), input_sample, path, options);
  }

  // The Trainer attaches itself while it runs; users never call these.
  void lightning_attach_(detail::TrainerLink* link) noexcept { trainer_link_ = link; }
  detail::TrainerLink* lightning_link_() const noexcept { return trainer_link_; }

 protected:
  HParams hparams_;

 private:
  /// The hyperparameters a checkpoint stores: this library's own archive
  /// when the file is one it wrote and verified (the exact round trip),
  /// else Lightning's `hyper_parameters` by field name (unknown keys are
  /// reported, missing ones keep their defaults), else the defaults.
  static HParams stored_hparams(const checkpoint::Dict& ckpt) {
    namespace ck = checkpoint;
    if (ck::contains(ckpt, ck::kMetaKey)) {
      const auto meta = ck::get<ck::Dict>(ckpt, ck::kMetaKey, "the checkpoint");
      if (ck::contains(meta, "hparams_archive"))
        return ck::hparams_from_archive<HParams>(ck::get<std::string>(meta, "hparams_archive", ck::kMetaKey));
    }
    if constexpr (!std::is_same_v<HParams, NoHParams>) {
      if (ck::contains(ckpt, "hyper_parameters") && !ck::at(ckpt, "hyper_parameters", "the checkpoint").isNone()) {
        std::vector<std::string> unknown;
        HParams h = ck::hparams_from_dict<HParams>(ck::get<ck::Dict>(ckpt, "hyper_parameters", "the checkpoint"),
                                                   HParams{}, &unknown);
        if (!unknown.empty()) {
          std::string names;
          for (const auto& u : unknown) names += (names.empty() ? "'" : ", '") + u + "'";
          std::cerr << "lightning: load_from_checkpoint: the checkpoint's hyper_parameters has " << names
                    << ", which the hyperparameters struct has no field for: ignored\n";
        }
        return h;
      }
    }
    return HParams{};
  }

  detail::TrainerLink* require_link(const char* what) const {
    if (!trainer_link_ || !trainer_link_->trainer)
      throw std::logic_error(std::string(what) + " is only available while a Trainer runs this module");
    return trainer_link_;
  }
  template <class D>
  auto& optimizer_slots(const char* what) {
    static_assert(requires(D& d) { d.configure_optimizers(); } || !hooks::configure_optimizers::named<D>,
                  "lightning: optimizers()/lr_schedulers() need configure_optimizers()'s return type, which C++ "
                  "deduces in declaration order: define `auto configure_optimizers()` above the member functions "
                  "that call optimizers(), or give it an explicit return type");
    static_assert(hooks::configure_optimizers::named<D>,
                  "lightning: optimizers()/lr_schedulers() return what configure_optimizers() returns: define it");
    using Slots = detail::optimizer_slots_t<decltype(std::declval<D&>().configure_optimizers())>;
    auto* link = require_link(what);
    if (!link->optimizer_slots) throw std::logic_error(std::string(what) + ": configure_optimizers() has not run yet");
    return *static_cast<Slots*>(link->optimizer_slots);
  }

  detail::TrainerLink* trainer_link_ = nullptr;
  std::vector<std::pair<torch::Tensor, bool>> toggled_;
};

namespace detail {
template <class D, class H>
void derives_from_lightning_module(const LightningModule<D, H>&);
}

/// A type derived from some `LightningModule<Derived, HParams>`.
template <class M>
concept LightningModuleType = requires(const M& m) { detail::derives_from_lightning_module(m); };

}  // namespace lightning
