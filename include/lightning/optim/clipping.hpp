#pragma once
// Gradient clipping as Lightning does it, without a host sync: by the total
// L2 norm (the norm of per-parameter norms, scaled by min(c / (total + 1e-6), 1))
// or by value (each element clamped to [-c, c]).
#include <torch/torch.h>

#include <vector>

#include "../trainer_options.hpp"

namespace lightning {

namespace detail {
template <class Opt>
std::vector<torch::Tensor> grads_of(Opt& opt) {
  std::vector<torch::Tensor> grads;
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) grads.push_back(p.grad());
  return grads;
}
}  // namespace detail

/// Clips `grads` in place (see clip_gradients).
void clip_gradient_tensors(std::vector<torch::Tensor>& grads, double clip_val, GradClipAlgorithm algorithm);

/// Clips the gradients of the optimizer's parameters in place.
template <class Opt>
void clip_gradients(Opt& opt, double clip_val, GradClipAlgorithm algorithm = GradClipAlgorithm::norm) {
  if (clip_val <= 0) return;
  auto grads = detail::grads_of(opt);
  clip_gradient_tensors(grads, clip_val, algorithm);
}

}  // namespace lightning
