#pragma once
// LinearLR (warm-up): PyTorch's torch.optim.lr_scheduler.LinearLR (1.13),
// including its recursive form, value for value.
#include <torch/torch.h>

#include <algorithm>

#include "scheduler_base.hpp"

namespace lightning::optim {

class LinearLR;

/// `LinearLR(opt, {.start_factor = 0.1, .total_iters = 500})`: a linear warm-up.
struct LinearLROptions {
  using scheduler_type = LinearLR;
  double start_factor = 1.0 / 3;  ///< lr factor at step 0; in (0, 1]
  double end_factor = 1.0;        ///< lr factor from step total_iters on; in [0, 1]
  int64_t total_iters = 5;        ///< steps over which the factor moves; >= 1
};

/// Scales every group's initial lr by a factor going linearly from
/// `start_factor` to `end_factor` over `total_iters` steps.
class LinearLR : public detail::LRScheduler<LinearLR> {
 public:
  using options_type = LinearLROptions;

  /// Sets last_epoch = 0 and the initial lrs (lr * start_factor), as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler (shared by schedulers of one optimizer).
  LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options = {}, std::vector<double>* initial_lr = nullptr)
      : LRScheduler(optimizer, initial_lr), options_(validated(options)) {
    initial_step();
  }

  static constexpr const char* name() noexcept { return "LinearLR"; }
  double start_factor() const noexcept { return options_.start_factor; }
  double end_factor() const noexcept { return options_.end_factor; }
  int64_t total_iters() const noexcept { return options_.total_iters; }

  /// PyTorch's keys: start_factor, end_factor, total_iters, base_lrs, last_epoch, _step_count, _last_lr.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("start_factor", options_.start_factor);
    d.insert_or_assign("end_factor", options_.end_factor);
    d.insert_or_assign("total_iters", options_.total_iters);
    save_base(d);
    return d;
  }

 private:
  friend class detail::LRScheduler<LinearLR>;

  // load_state_dict's reading part; the returned commit applies it.
  auto read_state(const detail::StateReader& r) {
    LinearLROptions o{.start_factor = r.real("start_factor"),
                      .end_factor = r.real("end_factor"),
                      .total_iters = r.integer("total_iters")};
    try {
      validated(o);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("LinearLR::load_state_dict: ") + e.what());
    }
    return [this, o] { options_ = o; };
  }

  // PyTorch 1.13 accepts start_factor = 0 but then divides by zero at step 1.
  static LinearLROptions validated(const LinearLROptions& o) {
    if (!(o.start_factor > 0.0 && o.start_factor <= 1.0))
      throw std::invalid_argument("LinearLR: starting multiplicative factor expected to be in (0, 1], got " +
                                  std::to_string(o.start_factor));
    if (!(o.end_factor >= 0.0 && o.end_factor <= 1.0))
      throw std::invalid_argument("LinearLR: ending multiplicative factor expected to be between 0 and 1, got " +
                                  std::to_string(o.end_factor));
    if (o.total_iters < 1)
      throw std::invalid_argument("LinearLR: expected a positive integer total_iters, got " +
                                  std::to_string(o.total_iters));
    return o;
  }

  // PyTorch's get_lr(), in its operation order.
  std::vector<double> chainable_lr() const {
    const auto [sf, ef, n] = options_;
    const int64_t e = last_epoch();
    std::vector<double> lrs(num_groups());
    for (std::size_t i = 0; i < lrs.size(); ++i) {
      const double lr = group_lr(i);
      if (e == 0)
        lrs[i] = lr * sf;
      else if (e > n)
        lrs[i] = lr;
      else
        lrs[i] = lr * (1. + (ef - sf) / (static_cast<double>(n) * sf + static_cast<double>(e - 1) * (ef - sf)));
    }
    return lrs;
  }
  std::vector<double> closed_form_lr() const {
    const auto [sf, ef, n] = options_;
    const auto k = static_cast<double>(std::min(n, last_epoch()));
    std::vector<double> lrs;
    for (double base : base_lrs()) lrs.push_back(base * (sf + (ef - sf) * k / static_cast<double>(n)));
    return lrs;
  }

  LinearLROptions options_;
};

}  // namespace lightning::optim
