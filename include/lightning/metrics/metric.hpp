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

/// How one state tensor combines across processes: summed counts, or a
/// running min/max. A distributed strategy all-reduces each state with it.
enum class Reduction { sum, min, max };

namespace detail {
/// Stands in for a strategy's visitor when checking `for_each_state`.
struct StateVisitorProbe {
  void operator()(torch::Tensor&, Reduction) const {}
};
}  // namespace detail

/// A metric whose whole state is reachable as tensors: `m.for_each_state(f)`
/// calls `f(torch::Tensor& state, Reduction how)` once per state, in a fixed
/// order, with shapes fixed at construction (so every rank reduces the same
/// tensors even if it saw no data). Assign the reduced tensor to `state`
/// rather than changing it in place: states written under InferenceMode are
/// inference tensors, which only InferenceMode may modify in place.
/// Every metric in this library models it.
template <class M>
concept SyncableMetric = Metric<M> && requires(M& m, detail::StateVisitorProbe probe) { m.for_each_state(probe); };

/// torchmetrics' `forward`: updates `m` with the batch and returns the
/// metric of this batch alone (computed on a fresh copy of the metric).
template <class M, class... A>
torch::Tensor forward(M& m, const A&... args) {
  M batch = m;
  batch.reset();  // reset assigns new state tensors: the copy shares nothing with `m`
  batch.update(args...);
  m.update(args...);
  return batch.compute();
}

/// Makes a metric callable as torchmetrics' are: `acc(logits, y)` is forward().
template <class Derived>
struct Callable {
  template <class... A>
  torch::Tensor operator()(const A&... args) {
    return forward(static_cast<Derived&>(*this), args...);
  }
};

}  // namespace lightning::metrics
