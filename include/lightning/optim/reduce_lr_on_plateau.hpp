#pragma once
// ReduceLROnPlateau: PyTorch's torch.optim.lr_scheduler.ReduceLROnPlateau
// (1.13), its exact improvement, patience and cooldown rules.
#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "scheduler_base.hpp"

namespace lightning::optim {

/// Whether the monitored metric improves by going down (min) or up (max).
enum class PlateauMode { min, max };
/// Whether `threshold` is relative to the best value (rel) or absolute (abs).
enum class ThresholdMode { rel, abs };

/// `ReduceLROnPlateau(opt, {.mode = PlateauMode::max, .factor = 0.5, .patience = 3})`.
struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;      ///< new lr = lr * factor; < 1
  int64_t patience = 10;    ///< bad steps tolerated before reducing; >= 0
  double threshold = 1e-4;  ///< how much better counts as better
  ThresholdMode threshold_mode = ThresholdMode::rel;
  int64_t cooldown = 0;                ///< steps to ignore bad steps after a reduction; >= 0
  std::vector<double> min_lr = {0.0};  ///< lower bound: one value, or one per param group
  double eps = 1e-8;                   ///< reductions smaller than this are skipped
};

/// Reduces every group's lr by `factor` once the metric given to step() has
/// not improved for more than `patience` steps.
class ReduceLROnPlateau {
 public:
  using options_type = ReduceLROnPlateauOptions;

  /// Leaves the lrs as they are (last_epoch = 0), as PyTorch's constructor.
  ReduceLROnPlateau(torch::optim::Optimizer& optimizer, ReduceLROnPlateauOptions options = {})
      : optimizer_(&optimizer),
        factor_(options.factor),
        min_lrs_(detail::per_group(options.min_lr, optimizer.param_groups().size(), "ReduceLROnPlateau", "min_lr")),
        patience_(options.patience),
        cooldown_(options.cooldown),
        mode_(options.mode),
        threshold_(options.threshold),
        threshold_mode_(options.threshold_mode),
        eps_(options.eps),
        last_lr_(detail::group_lrs(optimizer)) {
    if (!(factor_ < 1.0))
      throw std::invalid_argument("ReduceLROnPlateau: factor should be < 1.0, got " + std::to_string(factor_));
    if (patience_ < 0)
      throw std::invalid_argument("ReduceLROnPlateau: expected patience >= 0, got " + std::to_string(patience_));
    if (cooldown_ < 0)
      throw std::invalid_argument("ReduceLROnPlateau: expected cooldown >= 0, got " + std::to_string(cooldown_));
    reset();
  }

  static constexpr const char* name() noexcept { return "ReduceLROnPlateau"; }

  /// One step with this step's value of the monitored metric.
  void step(double metric) {
    ++last_epoch_;
    if (is_better(metric, best_)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (in_cooldown()) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad steps during cooldown do not count
    }
    if (num_bad_epochs_ > patience_) {
      reduce_lr();
      cooldown_counter_ = cooldown_;
      num_bad_epochs_ = 0;
    }
    last_lr_ = detail::group_lrs(*optimizer_);
  }

  /// The groups' lrs after the last step (at construction: the current lrs).
  std::vector<double> get_last_lr() const { return last_lr_; }
  /// Steps taken (0 after construction).
  int64_t last_epoch() const noexcept { return last_epoch_; }
  /// The best metric so far (+inf in min mode, -inf in max mode before any).
  double best() const noexcept { return best_; }
  /// Steps without improvement since the last improvement or reduction.
  int64_t num_bad_epochs() const noexcept { return num_bad_epochs_; }
  /// Steps of cooldown left.
  int64_t cooldown_counter() const noexcept { return cooldown_counter_; }
  bool in_cooldown() const noexcept { return cooldown_counter_ > 0; }
  /// Whether `a` improves on `best` under mode, threshold and threshold_mode.
  bool is_better(double a, double best) const noexcept {
    if (mode_ == PlateauMode::min && threshold_mode_ == ThresholdMode::rel) return a < best * (1. - threshold_);
    if (mode_ == PlateauMode::min) return a < best - threshold_;
    if (threshold_mode_ == ThresholdMode::rel) return a > best * (threshold_ + 1.);
    return a > best + threshold_;
  }
  torch::optim::Optimizer& optimizer() const noexcept { return *optimizer_; }
  /// Points the scheduler at `optimizer` after the one it was built with
  /// moved (the Trainer stores what configure_optimizers returns).
  void rebind(torch::optim::Optimizer& optimizer) noexcept { optimizer_ = &optimizer; }

  /// PyTorch's keys: factor, min_lrs, patience, cooldown, cooldown_counter,
  /// mode, threshold, threshold_mode, best, num_bad_epochs, mode_worse, eps,
  /// last_epoch, _last_lr.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("factor", factor_);
    d.insert_or_assign("min_lrs", detail::to_list(min_lrs_));
    d.insert_or_assign("patience", patience_);
    d.insert_or_assign("cooldown", cooldown_);
    d.insert_or_assign("cooldown_counter", cooldown_counter_);
    d.insert_or_assign("mode", mode_ == PlateauMode::min ? "min" : "max");
    d.insert_or_assign("threshold", threshold_);
    d.insert_or_assign("threshold_mode", threshold_mode_ == ThresholdMode::rel ? "rel" : "abs");
    d.insert_or_assign("best", best_);
    d.insert_or_assign("num_bad_epochs", num_bad_epochs_);
    d.insert_or_assign("mode_worse", mode_worse());
    d.insert_or_assign("eps", eps_);
    d.insert_or_assign("last_epoch", last_epoch_);
    d.insert_or_assign("_last_lr", detail::to_list(last_lr_));
    return d;
  }
  /// Restores state_dict()'s output exactly (std::invalid_argument naming a
  /// missing or ill-typed key, the scheduler left unchanged), then sets the
  /// groups' lrs to `_last_lr`, which LibTorch 1.13's Optimizer::load does not
  /// restore. `_last_lr` may be absent (PyTorch has it only after a step).
  void load_state_dict(const StateDict& d) {
    detail::StateReader r(d, name());
    const auto n = static_cast<int64_t>(optimizer_->param_groups().size());
    auto mode = r.string("mode");
    if (mode != "min" && mode != "max") throw r.invalid("mode", "is '" + mode + "', expected 'min' or 'max'");
    auto threshold_mode = r.string("threshold_mode");
    if (threshold_mode != "rel" && threshold_mode != "abs")
      throw r.invalid("threshold_mode", "is '" + threshold_mode + "', expected 'rel' or 'abs'");
    auto factor = r.real("factor");
    auto min_lrs = r.reals("min_lrs", n);
    auto patience = r.integer("patience");
    auto cooldown = r.integer("cooldown");
    auto cooldown_counter = r.integer("cooldown_counter");
    auto threshold = r.real("threshold");
    auto best = r.real("best");
    auto num_bad_epochs = r.integer("num_bad_epochs");
    auto eps = r.real("eps");
    auto last_epoch = r.integer("last_epoch");
    auto last_lr = r.has("_last_lr") ? r.reals("_last_lr", n) : detail::group_lrs(*optimizer_);
    mode_ = mode == "min" ? PlateauMode::min : PlateauMode::max;
    threshold_mode_ = threshold_mode == "rel" ? ThresholdMode::rel : ThresholdMode::abs;
    factor_ = factor;
    min_lrs_ = std::move(min_lrs);
    patience_ = patience;
    cooldown_ = cooldown;
    cooldown_counter_ = cooldown_counter;
    threshold_ = threshold;
    best_ = best;
    num_bad_epochs_ = num_bad_epochs;
    eps_ = eps;
    last_epoch_ = last_epoch;
    last_lr_ = std::move(last_lr);
    auto& groups = optimizer_->param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(last_lr_[i]);
  }

 private:
  double mode_worse() const noexcept {
    return mode_ == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                     : -std::numeric_limits<double>::infinity();
  }
  void reset() {
    best_ = mode_worse();
    cooldown_counter_ = 0;
    num_bad_epochs_ = 0;
  }
  void reduce_lr() {
    auto& groups = optimizer_->param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const double old_lr = groups[i].options().get_lr();
      const double new_lr = std::max(old_lr * factor_, min_lrs_[i]);
      if (old_lr - new_lr > eps_) groups[i].options().set_lr(new_lr);
    }
  }

  torch::optim::Optimizer* optimizer_;
  double factor_;
  std::vector<double> min_lrs_;
  int64_t patience_;
  int64_t cooldown_;
  int64_t cooldown_counter_ = 0;
  PlateauMode mode_;
  double threshold_;
  ThresholdMode threshold_mode_;
  double best_ = 0;
  int64_t num_bad_epochs_ = 0;
  double eps_;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace lightning::optim
