#pragma once
// StepLR: PyTorch's torch.optim.lr_scheduler.StepLR (1.13), value for value.
#include <torch/torch.h>

#include <optional>

#include "scheduler_base.hpp"

namespace lightning::optim {

class StepLR;

/// `StepLR(opt, {.step_size = 30, .gamma = 0.1})`.
struct StepLROptions {
  using scheduler_type = StepLR;
  std::optional<int64_t> step_size = {};  ///< period of decay in steps; required, >= 1
  double gamma = 0.1;                     ///< multiplicative decay
};

/// Decays every group's lr by `gamma` every `step_size` steps.
class StepLR : public detail::LRScheduler<StepLR> {
 public:
  using options_type = StepLROptions;

  /// Sets last_epoch = 0 and the initial lrs, as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler (shared by schedulers of one optimizer).
  StepLR(torch::optim::Optimizer& optimizer, StepLROptions options, std::vector<double>* initial_lr = nullptr)
      : LRScheduler(optimizer, initial_lr), step_size_(validated(options)), gamma_(options.gamma) {
    initial_step();
  }

  static constexpr const char* name() noexcept { return "StepLR"; }
  int64_t step_size() const noexcept { return step_size_; }
  double gamma() const noexcept { return gamma_; }

  /// PyTorch's keys: step_size, gamma, base_lrs, last_epoch, _step_count, _last_lr.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("step_size", step_size_);
    d.insert_or_assign("gamma", gamma_);
    save_base(d);
    return d;
  }

 private:
  friend class detail::LRScheduler<StepLR>;

  // load_state_dict's reading part; the returned commit applies it.
  auto read_state(const detail::StateReader& r) {
    auto step_size = r.integer("step_size");
    if (step_size < 1) throw r.invalid("step_size", "must be >= 1, got " + std::to_string(step_size));
    return [this, step_size, gamma = r.real("gamma")] {
      step_size_ = step_size;
      gamma_ = gamma;
    };
  }

  static int64_t validated(const StepLROptions& o) {
    if (!o.step_size) throw std::invalid_argument("StepLR: step_size is required (the period of lr decay, in steps)");
    if (*o.step_size < 1)
      throw std::invalid_argument("StepLR: expected a positive integer step_size, got " + std::to_string(*o.step_size));
    return *o.step_size;
  }

  std::vector<double> chainable_lr() const {
    std::vector<double> lrs(num_groups());
    const bool decay = last_epoch() != 0 && last_epoch() % step_size_ == 0;
    for (std::size_t i = 0; i < lrs.size(); ++i) lrs[i] = decay ? group_lr(i) * gamma_ : group_lr(i);
    return lrs;
  }
  std::vector<double> closed_form_lr() const {
    std::vector<double> lrs;
    const auto k = static_cast<double>(detail::floor_div(last_epoch(), step_size_));
    for (double base : base_lrs()) lrs.push_back(base * std::pow(gamma_, k));
    return lrs;
  }

  int64_t step_size_;
  double gamma_;
};

}  // namespace lightning::optim
