#pragma once
// Running sum of values over an epoch (torchmetrics' SumMetric).
#include <torch/torch.h>

#include "aggregation.hpp"
#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// Sum of every element of every value given to update(); 0 before any.
class SumMetric : public Callable<SumMetric> {
 public:
  using Options = AggregationOptions;

  SumMetric() : SumMetric(Options{}) {}
  explicit SumMetric(const Options& o) : opts_(o) { reset(); }

  /// Adds all elements of `value` (a tensor of any shape, or a number).
  void update(const torch::Tensor& value) {
    torch::NoGradGuard no_grad;
    auto v = detail::handle_nan(detail::as_float64(value), opts_.nan_strategy, 0.0, "SumMetric");
    detail::follow_device(sum_, v.device());
    sum_ = sum_ + v.sum();  // out of place: the state may be an inference tensor
  }
  void update(double value) { update(detail::as_float64(value)); }

  /// float32 scalar.
  torch::Tensor compute() const { return sum_.to(torch::kFloat); }

  void reset() { sum_ = torch::zeros({}, torch::kDouble); }

  /// One float64 state, summed across processes.
  template <class F>
  void for_each_state(F&& f) {
    f(sum_, Reduction::sum);
  }

  const Options& options() const noexcept { return opts_; }

 private:
  Options opts_;
  torch::Tensor sum_;
};

}  // namespace lightning::metrics
