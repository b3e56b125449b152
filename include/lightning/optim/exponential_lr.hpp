#pragma once
// ExponentialLR: PyTorch's torch.optim.lr_scheduler.ExponentialLR (1.13), value for value.
#include <torch/torch.h>

#include <optional>

#include "scheduler_base.hpp"

namespace lightning::optim {

class ExponentialLR;

/// `ExponentialLR(opt, {.gamma = 0.95})`.
struct ExponentialLROptions {
  using scheduler_type = ExponentialLR;
  std::optional<double> gamma = {};  ///< multiplicative decay per step; required
};

/// Decays every group's lr by `gamma` every step.
class ExponentialLR : public detail::LRScheduler<ExponentialLR> {
 public:
  using options_type = ExponentialLROptions;

  /// Sets last_epoch = 0 and the initial lrs, as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler (shared by schedulers of one optimizer).
  ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options,
                std::vector<double>* initial_lr = nullptr)
      : LRScheduler(optimizer, initial_lr), gamma_(validated(options)) {
    initial_step();
  }

  static constexpr const char* name() noexcept { return "ExponentialLR"; }
  double gamma() const noexcept { return gamma_; }

  /// PyTorch's keys: gamma, base_lrs, last_epoch, _step_count, _last_lr.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("gamma", gamma_);
    save_base(d);
    return d;
  }

 private:
  friend class detail::LRScheduler<ExponentialLR>;

  // load_state_dict's reading part; the returned commit applies it.
  auto read_state(const detail::StateReader& r) {
    return [this, gamma = r.real("gamma")] { gamma_ = gamma; };
  }

  static double validated(const ExponentialLROptions& o) {
    if (!o.gamma) throw std::invalid_argument("ExponentialLR: gamma is required (the lr's decay factor per step)");
    return *o.gamma;
  }

  std::vector<double> chainable_lr() const {
    std::vector<double> lrs(num_groups());
    for (std::size_t i = 0; i < lrs.size(); ++i) lrs[i] = last_epoch() == 0 ? group_lr(i) : group_lr(i) * gamma_;
    return lrs;
  }
  std::vector<double> closed_form_lr() const {
    std::vector<double> lrs;
    for (double base : base_lrs()) lrs.push_back(base * std::pow(gamma_, static_cast<double>(last_epoch())));
    return lrs;
  }

  double gamma_;
};

}  // namespace lightning::optim
