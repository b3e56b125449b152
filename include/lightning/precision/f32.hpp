#pragma once
// precision::F32 ("32-true"): the default. Nothing is compiled into the loop:
// no autocast guard, no loss scaler. Its members are the interface every
// precision policy offers (see precision.hpp for the others).
#include <torch/torch.h>

#include "../policies/kinds.hpp"

namespace lightning::precision {

/// What a precision policy saves in a checkpoint (the loss scaler's state):
/// string keys to values, the same type as the schedulers' state dicts.
using StateDict = c10::impl::GenericDict;

namespace detail {
/// An empty state dict (str -> Any), what policies without state save.
inline StateDict empty_state_dict() { return StateDict(c10::StringType::get(), c10::AnyType::get()); }
}  // namespace detail

struct F32 {
  using policy_kind = lightning::policy_kind::precision;
  static constexpr const char* name = "32-true";

  /// Checks the policy can run on `device`; full precision runs everywhere.
  static void setup(const torch::Device&) noexcept {}

  /// Scope of forward and loss: nothing to switch for full precision.
  struct NoGuard {};
  static NoGuard forward_context() noexcept { return {}; }

  template <class Module>
  static void convert_module(Module&) noexcept {}
  template <class B>
  static B&& convert_input(B&& batch) noexcept {
    return static_cast<B&&>(batch);
  }

  static void backward(const torch::Tensor& loss) { loss.backward(); }

  /// Makes the gradients true gradients before clipping: they are already.
  template <class Optimizer>
  static void unscale(Optimizer&) noexcept {}

  /// Returns whether the step was taken (a loss scaler may skip one).
  template <class Optimizer>
  static bool optimizer_step(Optimizer& opt) {
    opt.step();
    return true;
  }

  /// No state to checkpoint: an empty dict, and loading accepts any.
  static StateDict state_dict() { return detail::empty_state_dict(); }
  static void load_state_dict(const StateDict&) noexcept {}
};

}  // namespace lightning::precision
