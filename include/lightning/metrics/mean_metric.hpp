#pragma once
// Weighted running mean over an epoch (torchmetrics' MeanMetric): the weighted
// sum and the total weight are accumulated, not a mean of batch means.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "aggregation.hpp"
#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// sum(value * weight) / sum(weight) over every element given to update();
/// NaN before any. Under NanStrategy::ignore a NaN value or weight drops the pair.
class MeanMetric : public Callable<MeanMetric> {
 public:
  using Options = AggregationOptions;

  MeanMetric() : MeanMetric(Options{}) {}
  explicit MeanMetric(const Options& o) : opts_(o) { reset(); }

  /// Adds `value` (any shape) with `weight` broadcast to value's shape, e.g. a
  /// batch's mean loss weighted by its batch size.
  void update(const torch::Tensor& value, const torch::Tensor& weight) {
    torch::NoGradGuard no_grad;
    auto v = detail::as_float64(value);
    auto w = detail::as_float64(weight).to(v.device());
    if (!at::is_expandable_to(w.sizes(), v.sizes()))
      throw std::invalid_argument("MeanMetric: weight of shape " + detail::shape_str(w) +
                                  " does not broadcast to value's shape " + detail::shape_str(v));
    w = w.expand(v.sizes());
    if (opts_.nan_strategy != NanStrategy::propagate) {
      auto nan = v.isnan() | w.isnan();
      if (opts_.nan_strategy == NanStrategy::error && nan.any().item<bool>())
        throw std::invalid_argument("MeanMetric: value or weight holds NaN and nan_strategy is NanStrategy::error");
      v = torch::where(nan, torch::zeros_like(v), v);
      w = torch::where(nan, torch::zeros_like(w), w);
    }
    detail::follow_device(weighted_sum_, v.device());
    detail::follow_device(weight_, v.device());
    weighted_sum_ = weighted_sum_ + (v * w).sum();  // out of place: the state may be an inference tensor
    weight_ = weight_ + w.sum();
  }
  void update(const torch::Tensor& value, double weight = 1.0) { update(value, detail::as_float64(weight)); }
  void update(double value, double weight = 1.0) { update(detail::as_float64(value), detail::as_float64(weight)); }

  /// float32 scalar.
  torch::Tensor compute() const { return (weighted_sum_ / weight_).to(torch::kFloat); }

  void reset() {
    weighted_sum_ = torch::zeros({}, torch::kDouble);
    weight_ = torch::zeros({}, torch::kDouble);
  }

  /// float64 weighted sum and total weight, both summed across processes.
  template <class F>
  void for_each_state(F&& f) {
    f(weighted_sum_, Reduction::sum);
    f(weight_, Reduction::sum);
  }

  const Options& options() const noexcept { return opts_; }

 private:
  Options opts_;
  torch::Tensor weighted_sum_, weight_;
};

}  // namespace lightning::metrics
