#pragma once
// Running maximum of values over an epoch (torchmetrics' MaxMetric).
#include <torch/torch.h>

#include <limits>

#include "aggregation.hpp"
#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// The largest element of every value given to update(); -inf before any.
class MaxMetric : public Callable<MaxMetric> {
 public:
  using Options = AggregationOptions;

  MaxMetric() : MaxMetric(Options{}) {}
  explicit MaxMetric(const Options& o) : opts_(o) { reset(); }

  /// Folds in every element of `value` (a tensor of any shape, or a number).
  void update(const torch::Tensor& value) {
    torch::NoGradGuard no_grad;
    auto v = detail::handle_nan(detail::as_float64(value), opts_.nan_strategy, kIdentity, "MaxMetric");
    if (v.numel() == 0) return;
    detail::follow_device(max_, v.device());
    max_ = torch::maximum(max_, v.max());  // out of place: the state may be an inference tensor
  }
  void update(double value) { update(detail::as_float64(value)); }

  /// float32 scalar.
  torch::Tensor compute() const { return max_.to(torch::kFloat); }

  void reset() { max_ = torch::full({}, kIdentity, torch::kDouble); }

  /// One float64 state, reduced by max across processes.
  template <class F>
  void for_each_state(F&& f) {
    f(max_, Reduction::max);
  }

  const Options& options() const noexcept { return opts_; }

 private:
  static constexpr double kIdentity = -std::numeric_limits<double>::infinity();
  Options opts_;
  torch::Tensor max_;
};

}  // namespace lightning::metrics
