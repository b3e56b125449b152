#pragma once
// Running minimum of values over an epoch (torchmetrics' MinMetric).
#include <torch/torch.h>

#include <limits>

#include "aggregation.hpp"
#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// The smallest element of every value given to update(); +inf before any.
class MinMetric : public Callable<MinMetric> {
 public:
  using Options = AggregationOptions;

  MinMetric() : MinMetric(Options{}) {}
  explicit MinMetric(const Options& o) : opts_(o) { reset(); }

  /// Folds in every element of `value` (a tensor of any shape, or a number).
  void update(const torch::Tensor& value) {
    torch::NoGradGuard no_grad;
    auto v = detail::handle_nan(detail::as_float64(value), opts_.nan_strategy, kIdentity, "MinMetric");
    if (v.numel() == 0) return;
    detail::follow_device(min_, v.device());
    min_ = torch::minimum(min_, v.min());  // out of place: the state may be an inference tensor
  }
  void update(double value) { update(detail::as_float64(value)); }

  /// float32 scalar.
  torch::Tensor compute() const { return min_.to(torch::kFloat); }

  void reset() { min_ = torch::full({}, kIdentity, torch::kDouble); }

  /// One float64 state, reduced by min across processes.
  template <class F>
  void for_each_state(F&& f) {
    f(min_, Reduction::min);
  }

  const Options& options() const noexcept { return opts_; }

 private:
  static constexpr double kIdentity = std::numeric_limits<double>::infinity();
  Options opts_;
  torch::Tensor min_;
};

}  // namespace lightning::metrics
