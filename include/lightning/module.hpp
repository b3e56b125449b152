#pragma once
// LightningModule: a torch::nn::Module that says *what* to compute. The
// Trainer calls the hooks the derived class defines (found at compile time).
#include <torch/torch.h>

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "detail/trainer_link.hpp"
#include "log_options.hpp"
#include "metrics/metric.hpp"

namespace lightning {

/// Hyperparameters of a module that declares none.
struct NoHParams {};

/// CRTP base of a user module: `struct Lit : L::LightningModule<Lit, Params> {...}`.
/// Holds the hyperparameters and offers `log()`; every hook is optional.
template <class Derived, class HParams = NoHParams>
class LightningModule : public torch::nn::Module {
 public:
  using hparams_type = HParams;

  explicit LightningModule(HParams hparams = {}) : hparams_(std::move(hparams)) {}

  const HParams& hparams() const noexcept { return hparams_; }

  /// 0-based epoch of the running Trainer (0 when none runs).
  int64_t current_epoch() const noexcept { return link_ ? link_->progress.current_epoch : 0; }
  /// Optimizer steps taken so far (during `training_step`: the steps before this one).
  int64_t global_step() const noexcept { return link_ ? link_->progress.global_step : 0; }
  /// Read-only loop state of the running Trainer, or nullptr outside one.
  const detail::LoopProgress* trainer_progress() const noexcept { return link_ ? &link_->progress : nullptr; }

  /// Logs a value under `name` with Lightning's rules (see README: Logging).
  /// Outside a Trainer it does nothing, as Lightning (which only warns).
  void log(std::string_view name, const torch::Tensor& value, const LogOptions& opts = {}) {
    if (!link_ || !link_->results) return;
    link_->results->log(link_->fx, link_->call_id, name, value, opts,
                        [this] { return link_->current_batch_size(); });
  }
  void log(std::string_view name, double value, const LogOptions& opts = {}) {
    if (!link_ || !link_->results) return;
    log(name, torch::scalar_tensor(value, torch::kFloat), opts);
  }
  /// Logs a metric object: its epoch value is `compute()` on the whole
  /// epoch's state, and it is reset when the epoch ends.
  template <metrics::Metric M>
  void log(std::string_view name, M& metric, const LogOptions& opts = {}) {
    if (!link_ || !link_->results) return;
    link_->results->log_metric(link_->fx, link_->call_id, name, metric, opts);
  }

  /// Logs each (name, value) pair of a map or of `{{"a", x}, {"b", y}}`.
  template <class Map>
  void log_dict(const Map& values, const LogOptions& opts = {}) {
    for (const auto& [k, v] : values) log(k, v, opts);
  }
  void log_dict(std::initializer_list<std::pair<std::string_view, torch::Tensor>> values, const LogOptions& opts = {}) {
    for (const auto& [k, v] : values) log(k, v, opts);
  }

  // The Trainer attaches itself while it runs; users never call these.
  void lightning_attach_(detail::TrainerLink* link) noexcept { link_ = link; }
  detail::TrainerLink* lightning_link_() const noexcept { return link_; }

 protected:
  HParams hparams_;

 private:
  detail::TrainerLink* link_ = nullptr;
};

namespace detail {
template <class D, class H>
void derives_from_lightning_module(const LightningModule<D, H>&);
}

/// A type derived from some `LightningModule<Derived, HParams>`.
template <class M>
concept LightningModuleType = requires(const M& m) { detail::derives_from_lightning_module(m); };

}  // namespace lightning
