#pragma once
// MultiStepLR: PyTorch's torch.optim.lr_scheduler.MultiStepLR (1.13), value for value.
#include <torch/torch.h>

#include <algorithm>

#include "scheduler_base.hpp"

namespace lightning::optim {

class MultiStepLR;

/// `MultiStepLR(opt, {.milestones = {30, 80}, .gamma = 0.1})`.
struct MultiStepLROptions {
  using scheduler_type = MultiStepLR;
  std::vector<int64_t> milestones = {};  ///< steps at which lr *= gamma; non-empty, non-decreasing, >= 0
  double gamma = 0.1;                    ///< multiplicative decay (a repeated milestone applies it twice)
};

/// Decays every group's lr by `gamma` at each milestone.
class MultiStepLR : public detail::LRScheduler<MultiStepLR> {
 public:
  using options_type = MultiStepLROptions;

  /// Sets last_epoch = 0 and the initial lrs, as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler (shared by schedulers of one optimizer).
  MultiStepLR(torch::optim::Optimizer& optimizer, MultiStepLROptions options, std::vector<double>* initial_lr = nullptr)
      : LRScheduler(optimizer, initial_lr),
        milestones_(validated(std::move(options.milestones))),
        gamma_(options.gamma) {
    initial_step();
  }

  static constexpr const char* name() noexcept { return "MultiStepLR"; }
  const std::vector<int64_t>& milestones() const noexcept { return milestones_; }
  double gamma() const noexcept { return gamma_; }

  /// PyTorch's keys; `milestones` is a {step: count} dict like PyTorch's Counter.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    c10::Dict<int64_t, int64_t> counter;
    for (auto m : milestones_) {
      auto it = counter.find(m);
      counter.insert_or_assign(m, it == counter.end() ? 1 : it->value() + 1);
    }
    d.insert_or_assign("milestones", counter);
    d.insert_or_assign("gamma", gamma_);
    save_base(d);
    return d;
  }

 private:
  friend class detail::LRScheduler<MultiStepLR>;

  // load_state_dict's reading part (`milestones` as a {step: count} dict or a list).
  auto read_state(const detail::StateReader& r) {
    std::vector<int64_t> milestones;
    const auto& m = r.get("milestones");
    if (m.isGenericDict()) {
      // PyTorch's Counter {milestone: count}: counts from a file are bounded
      // before they are expanded (a count of 1e8 would allocate gigabytes).
      constexpr int64_t kMaxMilestones = 1'000'000;
      int64_t total = 0;
      for (const auto& e : m.toGenericDict()) {
        if (!e.key().isInt() || !e.value().isInt()) throw r.ill_typed("milestones", "a dict of int: int", m);
        const int64_t count = e.value().toInt();
        if (count < 0 || count > kMaxMilestones - total)
          throw r.invalid("milestones", "repeats milestone " + std::to_string(e.key().toInt()) + " " +
                                            std::to_string(count) + " times; expected at most " +
                                            std::to_string(kMaxMilestones) + " milestones in all");
        total += count;
        for (int64_t c = 0; c < count; ++c) milestones.push_back(e.key().toInt());
      }
    } else if (m.isList()) {
      milestones = r.integers("milestones");
    } else {
      throw r.ill_typed("milestones", "a dict of int: int", m);
    }
    std::sort(milestones.begin(), milestones.end());
    if (milestones.empty()) throw r.invalid("milestones", "is empty");
    return [this, milestones = std::move(milestones), gamma = r.real("gamma")]() mutable {
      milestones_ = std::move(milestones);
      gamma_ = gamma;
    };
  }

  static std::vector<int64_t> validated(std::vector<int64_t> m) {
    if (m.empty())
      throw std::invalid_argument("MultiStepLR: milestones is empty; expected the steps at which to decay the lr");
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] < 0) throw std::invalid_argument("MultiStepLR: milestones must be >= 0, got " + std::to_string(m[i]));
      if (i > 0 && m[i] < m[i - 1])
        throw std::invalid_argument("MultiStepLR: milestones must be increasing, got " + std::to_string(m[i - 1]) +
                                    " then " + std::to_string(m[i]));
    }
    return m;
  }

  // PyTorch: `gamma ** milestones[last_epoch]` when last_epoch is a milestone.
  std::vector<double> chainable_lr() const {
    const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch());
    std::vector<double> lrs(num_groups());
    for (std::size_t i = 0; i < lrs.size(); ++i)
      lrs[i] = hits == 0 ? group_lr(i) : group_lr(i) * std::pow(gamma_, static_cast<double>(hits));
    return lrs;
  }
  // PyTorch: `gamma ** bisect_right(milestones, last_epoch)`.
  std::vector<double> closed_form_lr() const {
    const auto k = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch()) - milestones_.begin();
    std::vector<double> lrs;
    for (double base : base_lrs()) lrs.push_back(base * std::pow(gamma_, static_cast<double>(k)));
    return lrs;
  }

  std::vector<int64_t> milestones_;  // sorted, repeats kept (PyTorch's Counter)
  double gamma_;
};

}  // namespace lightning::optim
