#pragma once
// SequentialLR: PyTorch's torch.optim.lr_scheduler.SequentialLR (1.13) as a
// variadic template: the schedulers live in a std::tuple and the one for the
// current step is picked by a fold over their indices, no virtual calls.
#include <torch/torch.h>

#include <algorithm>
#include <concepts>
#include <tuple>
#include <utility>

#include "scheduler_base.hpp"

namespace lightning::optim {

/// A scheduler SequentialLR can hold: one built on detail::LRScheduler (all
/// of lightning::optim's but ReduceLROnPlateau, as in PyTorch).
template <class S>
concept chainable_scheduler = std::derived_from<S, detail::LRScheduler<S>> && requires {
  typename S::options_type;
};

/// `{.milestones = {5}}`: the step at which each scheduler after the first takes over.
struct SequentialLROptions {
  std::vector<int64_t> milestones = {};  ///< one per scheduler after the first; non-decreasing, >= 0
};

/// Runs `Schedulers[0]` until milestones[0], then `Schedulers[1]` (restarted
/// at its epoch 0) until milestones[1], and so on:
/// `SequentialLR<LinearLR, CosineAnnealingLR> s(opt, {.milestones = {5}},
///     {.start_factor = 0.1, .total_iters = 5}, {.T_max = 95});`
/// or, deduced, `SequentialLR s(opt, {.milestones = {5}}, LinearLROptions{...}, CosineAnnealingLROptions{...});`
template <class... Schedulers>
class SequentialLR {
  static_assert(sizeof...(Schedulers) >= 1, "SequentialLR needs at least one scheduler");
  static_assert((chainable_scheduler<Schedulers> && ...),
                "SequentialLR holds chainable schedulers (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, "
                "LinearLR, OneCycleLR, LambdaLR), not ReduceLROnPlateau");

 public:
  static constexpr std::size_t size = sizeof...(Schedulers);

  /// Builds the schedulers from their options in order on `optimizer` (each
  /// doing its initial step, as when PyTorch users construct them), then, as
  /// PyTorch's SequentialLR: resets the lrs to the initial lrs, rewinds every
  /// scheduler by one step and redoes the first one's initial step.
  SequentialLR(torch::optim::Optimizer& optimizer, SequentialLROptions options,
               typename Schedulers::options_type... scheduler_options)
      : optimizer_(&optimizer),
        milestones_(validated(std::move(options.milestones))),
        // Braced: the schedulers are built left to right, as PyTorch users write them.
        schedulers_{Schedulers(optimizer, std::move(scheduler_options), &initial_lrs_)...} {
    auto& groups = optimizer.param_groups();
    for (std::size_t i = 0; i < groups.size() && i < initial_lrs_.size(); ++i)
      groups[i].options().set_lr(initial_lrs_[i]);
    std::apply([](auto&... s) { ((s.last_epoch_ -= 1), ...); }, schedulers_);
    std::get<0>(schedulers_).initial_step();
    last_lr_ = std::get<0>(schedulers_).get_last_lr();
  }

  static constexpr const char* name() noexcept { return "SequentialLR"; }

  /// One step: the scheduler whose interval holds the new last_epoch steps,
  /// restarting at its epoch 0 (closed form) on its milestone.
  void step() {
    ++last_epoch_;
    const auto idx = active_index();
    const bool restart = idx > 0 && milestones_[idx - 1] == last_epoch_;
    visit(idx, [&](auto& s) {
      if (restart)
        s.step_to(0);
      else
        s.step();
      last_lr_ = s.get_last_lr();
    });
  }

  /// The lrs set by the last step.
  std::vector<double> get_last_lr() const { return last_lr_; }
  /// Steps taken (0 after construction).
  int64_t last_epoch() const noexcept { return last_epoch_; }
  const std::vector<int64_t>& milestones() const noexcept { return milestones_; }
  /// The I-th scheduler.
  template <std::size_t I>
  auto& scheduler() noexcept {
    return std::get<I>(schedulers_);
  }
  template <std::size_t I>
  const auto& scheduler() const noexcept {
    return std::get<I>(schedulers_);
  }
  torch::optim::Optimizer& optimizer() const noexcept { return *optimizer_; }
  /// Points this scheduler and its children at `optimizer` after the one it
  /// was built with moved (the Trainer stores what configure_optimizers returns).
  void rebind(torch::optim::Optimizer& optimizer) noexcept {
    optimizer_ = &optimizer;
    std::apply([&](auto&... s) { (s.rebind(optimizer), ...); }, schedulers_);
  }

  /// PyTorch's keys: _milestones, last_epoch, _last_lr, and _schedulers (each
  /// scheduler's state_dict, in order).
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("_milestones", detail::to_list(milestones_));
    d.insert_or_assign("last_epoch", last_epoch_);
    d.insert_or_assign("_last_lr", detail::to_list(last_lr_));
    c10::impl::GenericList list(c10::DictType::create(c10::StringType::get(), c10::AnyType::get()));
    std::apply([&](const auto&... s) { (list.push_back(s.state_dict()), ...); }, schedulers_);
    d.insert_or_assign("_schedulers", list);
    return d;
  }
  /// Restores state_dict()'s output exactly (std::invalid_argument naming a
  /// missing or ill-typed key, a nested one naming its scheduler), then sets
  /// the groups' lrs to `_last_lr` (and momenta, after a OneCycleLR), which
  /// LibTorch 1.13's Optimizer::load does not restore.
  void load_state_dict(const StateDict& d) {
    detail::StateReader r(d, name());
    const auto n = static_cast<int64_t>(optimizer_->param_groups().size());
    auto milestones = r.integers("_milestones", static_cast<int64_t>(size) - 1);
    if (!std::is_sorted(milestones.begin(), milestones.end())) throw r.invalid("_milestones", "must be non-decreasing");
    auto last_epoch = r.integer("last_epoch");
    auto last_lr = r.reals("_last_lr", n);
    const auto& list = r.get("_schedulers");
    if (!list.isList()) throw r.ill_typed("_schedulers", "a list of dicts", list);
    const auto states = list.toListRef();
    if (states.size() != size)
      throw r.invalid("_schedulers",
                      "has " + std::to_string(states.size()) + " entries, expected " + std::to_string(size));
    for (const auto& s : states)
      if (!s.isGenericDict()) throw r.ill_typed("_schedulers", "a list of dicts", s);
    // Copies, so a bad nested dict leaves this scheduler unchanged.
    auto schedulers = schedulers_;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (std::get<I>(schedulers).load_state(states[I].toGenericDict()), ...);
    }
    (std::index_sequence_for<Schedulers...>{});
    schedulers_ = std::move(schedulers);
    milestones_ = std::move(milestones);
    last_epoch_ = last_epoch;
    last_lr_ = std::move(last_lr);
    auto& groups = optimizer_->param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(last_lr_[i]);
    // Momenta as the schedulers that have run left them, in the order they ran.
    const auto active = active_index();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I <= active ? std::get<I>(schedulers_).sync_derived_momentum() : void()), ...);
    }
    (std::index_sequence_for<Schedulers...>{});
  }

 private:
  static std::vector<int64_t> validated(std::vector<int64_t> m) {
    if (m.size() != size - 1)
      throw std::invalid_argument(
          "SequentialLR: expects number of schedulers provided to be one more than the number of milestone "
          "points, but got number of schedulers " +
          std::to_string(size) + " and the number of milestones to be equal to " + std::to_string(m.size()));
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] < 0) throw std::invalid_argument("SequentialLR: milestones must be >= 0, got " + std::to_string(m[i]));
      if (i > 0 && m[i] < m[i - 1])
        throw std::invalid_argument("SequentialLR: milestones must be increasing, got " + std::to_string(m[i - 1]) +
                                    " then " + std::to_string(m[i]));
    }
    return m;
  }

  // PyTorch's bisect_right(milestones, last_epoch): the scheduler of this step.
  std::size_t active_index() const {
    return static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
                                    milestones_.begin());
  }

  // Calls f on the idx-th scheduler: a fold of comparisons, inlined, no dispatch table.
  template <class F>
  void visit(std::size_t idx, F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((idx == I ? (f(std::get<I>(schedulers_)), true) : false) || ...);
    }
    (std::index_sequence_for<Schedulers...>{});
  }

  torch::optim::Optimizer* optimizer_;
  std::vector<int64_t> milestones_;
  std::vector<double> initial_lrs_;  // PyTorch's group['initial_lr'], shared while building
  std::tuple<Schedulers...> schedulers_;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

/// Deduces the scheduler types from their options types.
template <class... Options>
SequentialLR(torch::optim::Optimizer&, SequentialLROptions, Options...)
    -> SequentialLR<typename Options::scheduler_type...>;

}  // namespace lightning::optim
