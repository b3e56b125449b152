#pragma once
// Recall, tp / (tp + fn), over an epoch from accumulated counts.
#include <torch/torch.h>

#include "classification_options.hpp"
#include "detail/stat_scores.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// torchmetrics' Recall: of the actual positives, the fraction found. Micro
/// sums tp and fn over classes first; `zero_division` is the score of a class
/// that is never a target.
class Recall : public detail::StatScoresMetric, public Callable<Recall> {
 public:
  explicit Recall(const Options& o) : StatScoresMetric(o, "Recall") {}

  /// float32: a scalar, or [C] for Average::none.
  torch::Tensor compute() const {
    const auto& o = options();
    auto c = stats_.counts();
    if (o.task == Task::binary) return detail::safe_divide(c.tp, c.tp + c.fn, o.zero_division).to(torch::kFloat);
    if (o.average == Average::micro)
      return detail::safe_divide(c.tp.sum(), (c.tp + c.fn).sum(), o.zero_division).to(torch::kFloat);
    auto score = detail::safe_divide(c.tp, c.tp + c.fn, o.zero_division);
    return detail::average_scores(score, c, o, o.top_k > 1).to(torch::kFloat);
  }
};

}  // namespace lightning::metrics
