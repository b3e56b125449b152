#pragma once
// The optimizers of a fit: where they come from (the module's
// configure_optimizers(), or an L::Optimizer<...> policy), how they are
// stored (one slot per optimizer, with its scheduler config), and when their
// LR schedulers step.
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../hooks.hpp"
#include "../optim/configure.hpp"
#include "../optim/optimizer.hpp"

namespace lightning::connectors {

/// Stands in for the optimizer of a module in manual optimization that has none.
struct NoOptimizer {
  void zero_grad() {}
  void step() {}
  std::vector<torch::optim::OptimizerParamGroup>& param_groups() {
    static std::vector<torch::optim::OptimizerParamGroup> none;
    return none;
  }
};

namespace detail {
template <class Opt>
struct policy_slots {
  using type = std::tuple<lightning::detail::OptimizerSlot<typename Opt::optimizer_type, NoScheduler>>;
};
/// A policy that builds an optimizer with its scheduler (optim::RuntimeOptimizer).
template <class Opt>
  requires requires { typename Opt::config_type; }
struct policy_slots<Opt> {
  using type = lightning::detail::optimizer_slots_t<typename Opt::config_type>;
};
template <>
struct policy_slots<NoOptimizerPolicy> {
  using type = std::tuple<lightning::detail::OptimizerSlot<NoOptimizer, NoScheduler>>;
};
template <class M, bool configures>
struct module_slots {
  using type = void;
};
template <class M>
struct module_slots<M, true> {
  using type = lightning::detail::optimizer_slots_t<decltype(std::declval<M&>().configure_optimizers())>;
};

/// Builds an object in place from a call's result, so a non-movable
/// optimizer can be stored in an optional (guaranteed copy elision).
template <class F>
struct from_call {
  F f;
  operator std::invoke_result_t<F&>() { return f(); }
};
template <class F>
from_call(F) -> from_call<F>;
}  // namespace detail

/// The optimizer slots a Trainer of `Model` with optimizer policy `Policy` stores.
template <class Model, class Policy>
using optimizer_slots_t =
    std::conditional_t<hooks::configure_optimizers::named<Model>,
                       typename detail::module_slots<Model, hooks::configure_optimizers::named<Model>>::type,
                       typename detail::policy_slots<Policy>::type>;

template <class T>
class Optimizers {
 public:
  explicit Optimizers(T& t) : t_(t) {}

  /// Creates this fit's optimizers and points each scheduler at its stored optimizer.
  void configure() {
    auto& slots = t_.slots_;
    if constexpr (T::module_configures_optimizers) {
      t_.enter(lightning::detail::Fx::configure_optimizers);
      slots.reset();
      slots.emplace(detail::from_call{[this] { return lightning::detail::make_optimizer_slots(t_.model_->configure_optimizers()); }});
    } else if constexpr (T::has_optimizer_policy) {
      slots.reset();
      slots.emplace(detail::from_call{[this] { return lightning::detail::make_optimizer_slots(t_.optimizer_policy_->make(*t_.model_)); }});
    }
    if (slots) std::apply([](auto&... slot) { (slot.rebind(), ...); }, *slots);
    t_.module_link_.optimizer_slots = slots ? &*slots : nullptr;
  }

  /// Steps the schedulers due at this `interval` boundary (`idx`: batch or
  /// epoch index); ReduceLROnPlateau ones (`plateau`) with their monitored value.
  template <bool plateau>
  void step_schedulers(Interval interval, int64_t idx) {
    if constexpr (T::automatic_optimization)
      std::apply([&](auto&... slot) { (step_scheduler<plateau>(slot, interval, idx), ...); }, *t_.slots_);
  }

 private:
  template <bool plateau, class Slot>
  void step_scheduler(Slot& slot, Interval interval, int64_t idx) {
    if constexpr (Slot::has_scheduler && lightning::detail::PlateauScheduler<typename Slot::scheduler_type> == plateau) {
      auto& config = slot.lr_scheduler;
      if (config.interval != interval || (idx + 1) % config.frequency != 0) return;
      auto count = [this] {  // Lightning's scheduler_progress, for checkpoints
        ++t_.epoch_state_.counters.schedulers_total;
        ++t_.epoch_state_.counters.schedulers_epoch;
      };
      if constexpr (plateau) {
        const auto& metrics = t_.callback_metrics();
        auto it = metrics.find(config.monitor);
        if (it == metrics.end()) {
          if (!config.strict) return;
          missing_monitor(config.monitor, metrics);
        }
        count();
        config.scheduler.step(it->second.template item<double>());
      } else {
        count();
        config.scheduler.step();
      }
    }
  }

  template <class Map>
  [[noreturn]] static void missing_monitor(const std::string& monitor, const Map& metrics) {
    std::string available;
    for (const auto& [k, v] : metrics) available += (available.empty() ? "`" : ", `") + k + "`";
    throw std::runtime_error("ReduceLROnPlateau conditioned on metric `" + monitor +
                             "` which is not available. Available metrics are: " +
                             (available.empty() ? std::string("none") : available) +
                             ". Condition can be set using `monitor` key in the lr scheduler config");
  }

  T& t_;
};

}  // namespace lightning::connectors
