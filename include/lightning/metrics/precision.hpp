#pragma once
// Precision, tp / (tp + fp), over an epoch from accumulated counts.
#include <torch/torch.h>

#include "classification_options.hpp"
#include "detail/stat_scores.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// torchmetrics' Precision: of the predicted positives, the fraction that are
/// right. Micro sums tp and fp over classes first (for multiclass top-1 it
/// equals accuracy); `zero_division` is the score of a class never predicted.
class Precision : public detail::StatScoresMetric, public Callable<Precision> {
 public:
  explicit Precision(const Options& o) : StatScoresMetric(o, "Precision") {}

  /// float32: a scalar, or [C] for Average::none.
  torch::Tensor compute() const {
    const auto& o = options();
    auto c = stats_.counts();
    if (o.task == Task::binary) return detail::safe_divide(c.tp, c.tp + c.fp, o.zero_division).to(torch::kFloat);
    if (o.average == Average::micro)
      return detail::safe_divide(c.tp.sum(), (c.tp + c.fp).sum(), o.zero_division).to(torch::kFloat);
    auto score = detail::safe_divide(c.tp, c.tp + c.fp, o.zero_division);
    return detail::average_scores(score, c, o, o.top_k > 1).to(torch::kFloat);
  }
};

}  // namespace lightning::metrics
