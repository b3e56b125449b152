#pragma once
// Mean squared error over an epoch: the summed squared error and the element
// count are accumulated, so the epoch value weights every element equally.
#include <torch/torch.h>

#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// torchmetrics' MeanSquaredError: mean of (preds - target)^2 over all elements
/// seen; `squared = false` gives its square root (RMSE). NaN before any update.
class MeanSquaredError : public Callable<MeanSquaredError> {
 public:
  struct Options {
    bool squared = true;
  };

  MeanSquaredError() : MeanSquaredError(Options{}) {}
  explicit MeanSquaredError(const Options& o) : opts_(o) { reset(); }

  /// preds and target of one shape; the difference is taken in float64.
  void update(const torch::Tensor& preds, const torch::Tensor& target) {
    torch::NoGradGuard no_grad;
    detail::check_same_shape(preds, target, "MeanSquaredError");
    auto diff = preds.to(torch::kDouble) - target.to(torch::kDouble);
    detail::follow_device(sum_squared_error_, preds.device());
    detail::follow_device(total_, preds.device());
    sum_squared_error_ = sum_squared_error_ + diff.square().sum();  // out of place: may be an inference tensor
    total_ = total_ + preds.numel();
  }

  /// float32 scalar.
  torch::Tensor compute() const {
    auto mse = sum_squared_error_ / total_.to(torch::kDouble);
    return (opts_.squared ? mse : mse.sqrt()).to(torch::kFloat);
  }

  void reset() {
    sum_squared_error_ = torch::zeros({}, torch::kDouble);
    total_ = torch::zeros({}, torch::kLong);
  }

  /// float64 sum of squared errors and int64 element count, both summed.
  template <class F>
  void for_each_state(F&& f) {
    f(sum_squared_error_, Reduction::sum);
    f(total_, Reduction::sum);
  }

  const Options& options() const noexcept { return opts_; }

 private:
  Options opts_;
  torch::Tensor sum_squared_error_, total_;
};

}  // namespace lightning::metrics
