#pragma once
// CosineAnnealingLR: PyTorch's torch.optim.lr_scheduler.CosineAnnealingLR
// (1.13), including its recursive form, value for value.
#include <torch/torch.h>

#include <numbers>
#include <optional>

#include "scheduler_base.hpp"

namespace lightning::optim {

class CosineAnnealingLR;

/// `CosineAnnealingLR(opt, {.T_max = 100, .eta_min = 1e-5})`.
struct CosineAnnealingLROptions {
  using scheduler_type = CosineAnnealingLR;
  std::optional<int64_t> T_max = {};  ///< half-period in steps; required, >= 1
  double eta_min = 0.0;               ///< lower end of the cosine
};

/// Anneals every group's lr from its initial lr to `eta_min` along a cosine
/// over `T_max` steps (and back up over the next T_max: no restarts).
class CosineAnnealingLR : public detail::LRScheduler<CosineAnnealingLR> {
 public:
  using options_type = CosineAnnealingLROptions;

  /// Sets last_epoch = 0 and the initial lrs, as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler (shared by schedulers of one optimizer).
  CosineAnnealingLR(torch::optim::Optimizer& optimizer, CosineAnnealingLROptions options,
                    std::vector<double>* initial_lr = nullptr)
      : LRScheduler(optimizer, initial_lr), T_max_(validated(options)), eta_min_(options.eta_min) {
    initial_step();
  }

  static constexpr const char* name() noexcept { return "CosineAnnealingLR"; }
  int64_t T_max() const noexcept { return T_max_; }
  double eta_min() const noexcept { return eta_min_; }

  /// PyTorch's keys: T_max, eta_min, base_lrs, last_epoch, _step_count, _last_lr.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("T_max", T_max_);
    d.insert_or_assign("eta_min", eta_min_);
    save_base(d);
    return d;
  }

 private:
  friend class detail::LRScheduler<CosineAnnealingLR>;

  // load_state_dict's reading part; the returned commit applies it.
  auto read_state(const detail::StateReader& r) {
    auto T_max = r.integer("T_max");
    if (T_max < 1) throw r.invalid("T_max", "must be >= 1, got " + std::to_string(T_max));
    return [this, T_max, eta_min = r.real("eta_min")] {
      T_max_ = T_max;
      eta_min_ = eta_min;
    };
  }
  static constexpr double pi = std::numbers::pi;  // == Python's math.pi

  static int64_t validated(const CosineAnnealingLROptions& o) {
    if (!o.T_max) throw std::invalid_argument("CosineAnnealingLR: T_max is required (the number of annealing steps)");
    if (*o.T_max < 1)
      throw std::invalid_argument("CosineAnnealingLR: expected a positive integer T_max, got " +
                                  std::to_string(*o.T_max));
    return *o.T_max;
  }

  // PyTorch's get_lr(), branch for branch and in its operation order, so the
  // recursive form rounds exactly as PyTorch's does.
  std::vector<double> chainable_lr() const {
    const int64_t e = last_epoch();
    const auto T = static_cast<double>(T_max_);
    const auto ed = static_cast<double>(e);
    std::vector<double> lrs(num_groups());
    for (std::size_t i = 0; i < lrs.size(); ++i) {
      const double lr = group_lr(i);
      const double base = base_lrs()[i];
      if (e == 0) {
        lrs[i] = lr;
      } else if (step_count() == 1 && e > 0) {
        lrs[i] = eta_min_ + (base - eta_min_) * (1 + std::cos(ed * pi / T)) / 2;
      } else if ((e - 1 - T_max_) % (2 * T_max_) == 0) {  // == 0 iff Python's % is
        lrs[i] = lr + (base - eta_min_) * (1 - std::cos(pi / T)) / 2;
      } else {
        lrs[i] = (1 + std::cos(pi * ed / T)) / (1 + std::cos(pi * (ed - 1) / T)) * (lr - eta_min_) + eta_min_;
      }
    }
    return lrs;
  }
  std::vector<double> closed_form_lr() const {
    const auto ed = static_cast<double>(last_epoch());
    std::vector<double> lrs;
    for (double base : base_lrs())
      lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(pi * ed / static_cast<double>(T_max_))) / 2);
    return lrs;
  }

  int64_t T_max_;
  double eta_min_;
};

}  // namespace lightning::optim
