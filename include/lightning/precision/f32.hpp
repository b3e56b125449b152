#pragma once
// precision::F32 ("32-true"): the default. Nothing is compiled into the loop:
// no autocast guard, no loss scaler.
#include <torch/torch.h>

#include "../policies/kinds.hpp"

namespace lightning::precision {

struct F32 {
  using policy_kind = lightning::policy_kind::precision;
  static constexpr const char* name = "32-true";

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

  /// Returns whether the step was taken (a loss scaler may skip one).
  template <class Optimizer>
  static bool optimizer_step(Optimizer& opt) {
    opt.step();
    return true;
  }
};

}  // namespace lightning::precision
