#pragma once
// Mean absolute error over an epoch: the summed absolute error and the element
// count are accumulated, so the epoch value weights every element equally.
#include <torch/torch.h>

#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// torchmetrics' MeanAbsoluteError: mean of |preds - target| over all elements
/// seen. NaN before any update.
class MeanAbsoluteError : public Callable<MeanAbsoluteError> {
 public:
  MeanAbsoluteError() { reset(); }

  /// preds and target of one shape; the difference is taken in float64.
  void update(const torch::Tensor& preds, const torch::Tensor& target) {
    torch::NoGradGuard no_grad;
    detail::check_same_shape(preds, target, "MeanAbsoluteError");
    auto diff = preds.to(torch::kDouble) - target.to(torch::kDouble);
    detail::follow_device(sum_abs_error_, preds.device());
    detail::follow_device(total_, preds.device());
    sum_abs_error_ = sum_abs_error_ + diff.abs().sum();  // out of place: may be an inference tensor
    total_ = total_ + preds.numel();
  }

  /// float32 scalar.
  torch::Tensor compute() const { return (sum_abs_error_ / total_.to(torch::kDouble)).to(torch::kFloat); }

  void reset() {
    sum_abs_error_ = torch::zeros({}, torch::kDouble);
    total_ = torch::zeros({}, torch::kLong);
  }

  /// float64 sum of absolute errors and int64 element count, both summed.
  template <class F>
  void for_each_state(F&& f) {
    f(sum_abs_error_, Reduction::sum);
    f(total_, Reduction::sum);
  }

 private:
  torch::Tensor sum_abs_error_, total_;
};

}  // namespace lightning::metrics
