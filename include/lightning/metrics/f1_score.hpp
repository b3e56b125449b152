#pragma once
// F1 score, 2 tp / (2 tp + fp + fn), over an epoch from accumulated counts.
#include <torch/torch.h>

#include "classification_options.hpp"
#include "detail/stat_scores.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// torchmetrics' F1Score: the harmonic mean of precision and recall, from the
/// counts (micro sums them over classes first). As torchmetrics, macro leaves
/// out classes with no tp, fp or fn whatever top_k is.
class F1Score : public detail::StatScoresMetric, public Callable<F1Score> {
 public:
  explicit F1Score(const Options& o) : StatScoresMetric(o, "F1Score") {}

  /// float32: a scalar, or [C] for Average::none.
  torch::Tensor compute() const {
    const auto& o = options();
    auto c = stats_.counts();
    auto f1 = [&](const torch::Tensor& tp, const torch::Tensor& fp, const torch::Tensor& fn) {
      return detail::safe_divide(2 * tp, 2 * tp + fp + fn, o.zero_division);
    };
    if (o.task == Task::binary) return f1(c.tp, c.fp, c.fn).to(torch::kFloat);
    if (o.average == Average::micro) return f1(c.tp.sum(), c.fp.sum(), c.fn.sum()).to(torch::kFloat);
    return detail::average_scores(f1(c.tp, c.fp, c.fn), c, o, false).to(torch::kFloat);
  }
};

}  // namespace lightning::metrics
