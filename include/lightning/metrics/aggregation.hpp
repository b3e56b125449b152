#pragma once
// What the aggregation metrics (MeanMetric, SumMetric, MinMetric, MaxMetric)
// share: their options and how a value becomes a float64 tensor.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace lightning::metrics {

/// What an aggregation metric does with NaN values (torchmetrics' `nan_strategy`).
enum class NanStrategy {
  ignore,     // leave them out (torchmetrics' default "warn" does this, and warns)
  error,      // throw std::invalid_argument (reads a flag to the host each update)
  propagate,  // keep them: the result becomes NaN (torchmetrics' "disable")
};

/// Options of SumMetric, MinMetric, MaxMetric and MeanMetric.
struct AggregationOptions {
  NanStrategy nan_strategy = NanStrategy::ignore;
};

namespace detail {

/// A value as a detached float64 tensor, so sums of many values stay exact.
inline torch::Tensor as_float64(const torch::Tensor& value) { return value.detach().to(torch::kDouble); }
inline torch::Tensor as_float64(double value) { return torch::scalar_tensor(value, torch::kDouble); }

/// Applies the NaN strategy to `value`: under `ignore`, NaN entries become
/// `neutral` (the value that leaves the aggregate unchanged).
inline torch::Tensor handle_nan(const torch::Tensor& value, NanStrategy strategy, double neutral, const char* who) {
  if (strategy == NanStrategy::propagate) return value;
  auto nan = value.isnan();
  if (strategy == NanStrategy::error) {
    if (nan.any().item<bool>())
      throw std::invalid_argument(std::string(who) + ": value holds NaN and nan_strategy is NanStrategy::error");
    return value;
  }
  return torch::where(nan, torch::full_like(value, neutral), value);
}

}  // namespace detail
}  // namespace lightning::metrics
