#pragma once
// The Metric concept: torchmetrics' role. State lives in tensors so a strategy
// can all-reduce it; `log(name, metric)` logs `compute()` at epoch end and resets.
#include <torch/torch.h>

#include <concepts>

namespace lightning::metrics {

template <class M>
concept Metric = requires(M& m, const M& cm) {
  { m.compute() } -> std::convertible_to<torch::Tensor>;
  m.reset();
};

}  // namespace lightning::metrics
