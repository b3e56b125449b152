#pragma once
// An optimizer and an LR scheduler chosen at run time, by name: LightningCLI's
// `--optimizer=Adam --lr_scheduler=StepLR`, or a module whose hyperparameters
// say `optimizer = "SGD"`. A closed set (LibTorch's SGD, Adam, AdamW, RMSprop,
// Adagrad; the library's StepLR, MultiStepLR, ExponentialLR,
// CosineAnnealingLR, LinearLR), so checkpoints keep PyTorch's layout and the
// LR monitor its `lr-Adam` keys. Opt-in: a module whose configure_optimizers()
// returns a concrete type never includes or pays for this.
//
//   auto configure_optimizers() {
//     return L::optim::AnyOptimizer(parameters(), L::optim::optimizer_args(hparams().optimizer, hparams().lr));
//   }
#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../policies/kinds.hpp"
#include "configure.hpp"
#include "cosine_annealing_lr.hpp"
#include "exponential_lr.hpp"
#include "linear_lr.hpp"
#include "multi_step_lr.hpp"
#include "step_lr.hpp"

namespace lightning::optim {

/// torch.optim.SGD's arguments (lr has no default, as in PyTorch).
struct SGDArgs {
  std::optional<double> lr{};
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};
/// torch.optim.Adam's arguments.
struct AdamArgs {
  double lr = 1e-3;
  std::vector<double> betas = {0.9, 0.999};
  double eps = 1e-8, weight_decay = 0;
  bool amsgrad = false;
};
/// torch.optim.AdamW's arguments.
struct AdamWArgs {
  double lr = 1e-3;
  std::vector<double> betas = {0.9, 0.999};
  double eps = 1e-8, weight_decay = 1e-2;
  bool amsgrad = false;
};
/// torch.optim.RMSprop's arguments.
struct RMSpropArgs {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false;
};
/// torch.optim.Adagrad's arguments.
struct AdagradArgs {
  double lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10;
};

/// The optimizer to build and its arguments; the alternative's index is its name's in `optimizer_names`.
using OptimizerArgs = std::variant<SGDArgs, AdamArgs, AdamWArgs, RMSpropArgs, AdagradArgs>;
inline constexpr std::string_view optimizer_names[] = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"};

/// The scheduler to build (monostate: none) and its options.
using SchedulerArgs = std::variant<std::monostate, StepLROptions, MultiStepLROptions, ExponentialLROptions,
                                   CosineAnnealingLROptions, LinearLROptions>;
inline constexpr std::string_view scheduler_names[] = {"", "StepLR", "MultiStepLR", "ExponentialLR",
                                                       "CosineAnnealingLR", "LinearLR"};

namespace detail {
template <class Variant, std::size_t N>
Variant variant_by_name(std::string_view name, const std::string_view (&names)[N], std::string_view what) {
  Variant out;
  bool found = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((!found && !names[I].empty() && names[I] == name ? (out.template emplace<I>(), found = true) : false), ...);
  }(std::make_index_sequence<N>{});
  if (!found) {
    std::string known;
    for (auto n : names)
      if (!n.empty()) known += (known.empty() ? "" : ", ") + std::string(n);
    throw std::invalid_argument("lightning: unknown " + std::string(what) + " '" + std::string(name) +
                                "'; known: " + known);
  }
  return out;
}
}  // namespace detail

/// Default arguments of the optimizer called `name` ("SGD", "Adam", ...); std::invalid_argument naming the known ones.
inline OptimizerArgs optimizer_args(std::string_view name) {
  return detail::variant_by_name<OptimizerArgs>(name, optimizer_names, "optimizer");
}
/// The same with `lr` set.
inline OptimizerArgs optimizer_args(std::string_view name, double lr) {
  auto a = optimizer_args(name);
  std::visit([&](auto& x) { x.lr = lr; }, a);
  return a;
}
/// Default options of the scheduler called `name` ("StepLR", ...).
inline SchedulerArgs scheduler_args(std::string_view name) {
  return detail::variant_by_name<SchedulerArgs>(name, scheduler_names, "LR scheduler");
}

/// One of LibTorch's optimizers, chosen at run time. Satisfies what the
/// Trainer asks of an optimizer (step, zero_grad, param_groups); `visit`
/// reaches the concrete one.
class AnyOptimizer {
 public:
  AnyOptimizer(std::vector<torch::Tensor> params, const OptimizerArgs& args) : index_(args.index()) {
    std::visit([&](const auto& a) { opt_ = make(std::move(params), a); }, args);
  }

  void step() { opt_->step(); }
  void zero_grad() { opt_->zero_grad(); }
  std::vector<torch::optim::OptimizerParamGroup>& param_groups() noexcept { return opt_->param_groups(); }
  const std::vector<torch::optim::OptimizerParamGroup>& param_groups() const noexcept { return opt_->param_groups(); }
  torch::optim::Optimizer& get() noexcept { return *opt_; }
  /// Lightning's name of the class ("Adam"), as the LR monitor's keys use.
  std::string_view type_name() const noexcept { return optimizer_names[index_]; }

  /// `f(concrete optimizer&)`.
  template <class F>
  decltype(auto) visit(F&& f) {
    switch (index_) {
      case 0: return f(static_cast<torch::optim::SGD&>(*opt_));
      case 1: return f(static_cast<torch::optim::Adam&>(*opt_));
      case 2: return f(static_cast<torch::optim::AdamW&>(*opt_));
      case 3: return f(static_cast<torch::optim::RMSprop&>(*opt_));
      default: return f(static_cast<torch::optim::Adagrad&>(*opt_));
    }
  }

 private:
  static std::tuple<double, double> betas(const std::vector<double>& b) {
    if (b.size() != 2) throw std::invalid_argument("lightning: optimizer betas must be two numbers, e.g. [0.9, 0.999]");
    return {b[0], b[1]};
  }
  static std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::Tensor> p, const SGDArgs& a) {
    if (!a.lr) throw std::invalid_argument("lightning: SGD needs an lr (PyTorch's SGD has no default)");
    return std::make_unique<torch::optim::SGD>(std::move(p), torch::optim::SGDOptions(*a.lr)
                                                                 .momentum(a.momentum)
                                                                 .dampening(a.dampening)
                                                                 .weight_decay(a.weight_decay)
                                                                 .nesterov(a.nesterov));
  }
  static std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::Tensor> p, const AdamArgs& a) {
    return std::make_unique<torch::optim::Adam>(
        std::move(p),
        torch::optim::AdamOptions(a.lr).betas(betas(a.betas)).eps(a.eps).weight_decay(a.weight_decay).amsgrad(a.amsgrad));
  }
  static std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::Tensor> p, const AdamWArgs& a) {
    return std::make_unique<torch::optim::AdamW>(
        std::move(p), torch::optim::AdamWOptions(a.lr).betas(betas(a.betas)).eps(a.eps).weight_decay(a.weight_decay).amsgrad(
                          a.amsgrad));
  }
  static std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::Tensor> p, const RMSpropArgs& a) {
    return std::make_unique<torch::optim::RMSprop>(std::move(p), torch::optim::RMSpropOptions(a.lr)
                                                                     .alpha(a.alpha)
                                                                     .eps(a.eps)
                                                                     .weight_decay(a.weight_decay)
                                                                     .momentum(a.momentum)
                                                                     .centered(a.centered));
  }
  static std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::Tensor> p, const AdagradArgs& a) {
    return std::make_unique<torch::optim::Adagrad>(std::move(p), torch::optim::AdagradOptions(a.lr)
                                                                     .lr_decay(a.lr_decay)
                                                                     .weight_decay(a.weight_decay)
                                                                     .initial_accumulator_value(a.initial_accumulator_value)
                                                                     .eps(a.eps));
  }

  std::unique_ptr<torch::optim::Optimizer> opt_;  // a stable address: schedulers point at it
  std::size_t index_;
};

/// One of the library's LR schedulers (or none), chosen at run time.
class AnyScheduler {
 public:
  AnyScheduler() = default;
  AnyScheduler(AnyOptimizer& optimizer, const SchedulerArgs& args) {
    std::visit(
        [&](const auto& o) {
          using O = std::remove_cvref_t<decltype(o)>;
          if constexpr (!std::is_same_v<O, std::monostate>)
            s_.template emplace<typename O::scheduler_type>(optimizer.get(), o);
        },
        args);
  }

  bool empty() const noexcept { return s_.index() == 0; }
  std::string_view type_name() const noexcept { return scheduler_names[s_.index()]; }

  void step() {
    std::visit([](auto& s) {
      if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(s)>, std::monostate>) s.step();
    }, s_);
  }
  std::vector<double> get_last_lr() const {
    return std::visit([](const auto& s) -> std::vector<double> {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, std::monostate>) return {};
      else return s.get_last_lr();
    }, s_);
  }
  /// The scheduler's PyTorch state dict; empty without one.
  StateDict state_dict() const {
    return std::visit([](const auto& s) -> StateDict {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, std::monostate>) return detail::make_state_dict();
      else return s.state_dict();
    }, s_);
  }
  void load_state_dict(const StateDict& d) {
    std::visit([&](auto& s) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, std::monostate>) {
        if (d.size() != 0)
          throw std::invalid_argument("the checkpoint has an LR scheduler's state, this run has no LR scheduler");
      } else {
        s.load_state_dict(d);
      }
    }, s_);
  }
  void rebind(AnyOptimizer& optimizer) {
    std::visit([&](auto& s) {
      if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(s)>, std::monostate>) s.rebind(optimizer.get());
    }, s_);
  }

 private:
  std::variant<std::monostate, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR> s_;
};

/// A Trainer policy for modules without configure_optimizers(): the optimizer
/// and scheduler named at run time (what LightningCLI gives the Trainer).
/// `L::Trainer<Model, L::optim::RuntimeOptimizer> t(opts, L::optim::RuntimeOptimizer{optimizer_args("SGD", 0.1)})`.
struct RuntimeOptimizer {
  using policy_kind = lightning::policy_kind::optimizer;
  using optimizer_type = AnyOptimizer;
  using config_type = OptimizerConfig<AnyOptimizer, AnyScheduler>;

  OptimizerArgs optimizer = AdamArgs{};
  SchedulerArgs lr_scheduler{};
  /// When the scheduler steps (Lightning's default: each epoch).
  Interval interval = Interval::epoch;

  template <class Module>
  config_type make(Module& module) const {
    AnyOptimizer opt(module.parameters(), optimizer);
    AnyScheduler sched(opt, lr_scheduler);
    const bool none = sched.empty();
    config_type c{std::move(opt)};
    c.lr_scheduler.scheduler = std::move(sched);
    // Without a scheduler the lr changes only with steps (the LR monitor's rule).
    c.lr_scheduler.interval = none ? Interval::step : interval;
    return c;
  }
};

}  // namespace lightning::optim
