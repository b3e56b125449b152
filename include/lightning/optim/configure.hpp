#pragma once
// The forms `configure_optimizers()` may return, as Lightning's: one optimizer;
// an (optimizer, scheduler) pair; an OptimizerConfig mirroring Lightning's
// dict; or a tuple of those for several optimizers. The return type is
// deduced: no std::any, no virtual dispatch added.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace lightning {

/// When an LR scheduler steps: after optimizer steps, or once per epoch.
enum class Interval { step, epoch };

/// No scheduler for this optimizer.
struct NoScheduler {};

/// Lightning's `lr_scheduler` dict: `{.scheduler, .interval, .frequency, .monitor, .strict, .name}`.
template <class S = NoScheduler>
struct LRSchedulerConfig {
  S scheduler{};
  Interval interval = Interval::epoch;
  int64_t frequency = 1;
  /// The metric ReduceLROnPlateau steps with (a key of callback_metrics).
  std::string monitor{};
  /// A missing `monitor` metric is an error (true) or skips the step (false).
  bool strict = true;
  /// Overrides the LearningRateMonitor key.
  std::string name{};
};

/// Lightning's `{"optimizer": ..., "lr_scheduler": {...}}`.
template <class O, class S = NoScheduler>
struct OptimizerConfig {
  O optimizer;
  LRSchedulerConfig<S> lr_scheduler{};
};

namespace detail {

template <class T>
concept OptimizerLike = requires(T& o) {
  o.step();
  o.zero_grad();
  o.param_groups();
};

/// A scheduler whose step takes the monitored value (ReduceLROnPlateau).
template <class S>
concept PlateauScheduler = requires(S& s, double v) { s.step(v); } && !requires(S& s) { s.step(); };

/// One optimizer and its scheduler as the Trainer stores them.
template <class O, class S>
struct OptimizerSlot {
  using optimizer_type = O;
  using scheduler_type = S;
  static constexpr bool has_scheduler = !std::is_same_v<S, NoScheduler>;

  O optimizer;
  LRSchedulerConfig<S> lr_scheduler{};

  /// Schedulers refer to their optimizer; after the move into the Trainer's
  /// storage they are pointed at the stored one.
  void rebind() {
    if constexpr (has_scheduler && requires { lr_scheduler.scheduler.rebind(optimizer); })
      lr_scheduler.scheduler.rebind(optimizer);
  }
};

template <class T>
struct slot_of {
  static_assert(OptimizerLike<T>,
                "lightning: configure_optimizers() must return an optimizer, std::pair{optimizer, scheduler}, "
                "L::OptimizerConfig{.optimizer, .lr_scheduler}, or a std::tuple of those");
  using type = OptimizerSlot<T, NoScheduler>;
  static type make(T&& o) { return {std::move(o), {}}; }
};
template <class O, class S>
  requires(!OptimizerLike<S>)
struct slot_of<std::pair<O, S>> {
  using type = OptimizerSlot<O, S>;
  static type make(std::pair<O, S>&& p) {
    LRSchedulerConfig<S> c{std::move(p.second)};
    return {std::move(p.first), std::move(c)};
  }
};
template <class O, class S>
struct slot_of<OptimizerConfig<O, S>> {
  using type = OptimizerSlot<O, S>;
  static type make(OptimizerConfig<O, S>&& c) { return {std::move(c.optimizer), std::move(c.lr_scheduler)}; }
};

template <class R>
struct slots_of {
  using type = std::tuple<typename slot_of<R>::type>;
  static type make(R&& r) { return type(slot_of<R>::make(std::move(r))); }
};
template <class... Ts>
struct slots_of<std::tuple<Ts...>> {
  using type = std::tuple<typename slot_of<Ts>::type...>;
  static type make(std::tuple<Ts...>&& t) {
    return std::apply([](auto&&... e) { return type(slot_of<std::remove_cvref_t<decltype(e)>>::make(std::move(e))...); },
                      std::move(t));
  }
};
/// Two optimizers in a pair (a GAN's generator and discriminator).
template <class A, class B>
  requires OptimizerLike<B>
struct slots_of<std::pair<A, B>> {
  using type = std::tuple<typename slot_of<A>::type, typename slot_of<B>::type>;
  static type make(std::pair<A, B>&& p) {
    return type(slot_of<A>::make(std::move(p.first)), slot_of<B>::make(std::move(p.second)));
  }
};

/// The stored optimizers of what `configure_optimizers()` returned.
template <class R>
using optimizer_slots_t = typename slots_of<std::remove_cvref_t<R>>::type;

template <class R>
optimizer_slots_t<R> make_optimizer_slots(R&& r) {
  auto slots = slots_of<std::remove_cvref_t<R>>::make(std::move(r));
  return slots;
}

}  // namespace detail
}  // namespace lightning
