#pragma once
// Accuracy over an epoch from accumulated counts (not a mean of batch means).
#include <torch/torch.h>

#include "classification_options.hpp"
#include "detail/stat_scores.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// torchmetrics' Accuracy. `Accuracy acc{{.num_classes = 10}}` is multiclass
/// top-1 micro accuracy: the fraction of samples whose argmax is the target.
/// Binary: (tp + tn) / all. Multilabel micro: correct labels / all labels;
/// macro: mean over labels of each label's (tp + tn) / all.
class Accuracy : public detail::StatScoresMetric, public Callable<Accuracy> {
 public:
  explicit Accuracy(const Options& o) : StatScoresMetric(o, "Accuracy") {}

  /// float32: a scalar, or [C] for Average::none; 0 before any update.
  torch::Tensor compute() const {
    const auto& o = options();
    auto c = stats_.counts();
    const auto all = c.tp + c.fp + c.tn + c.fn;
    if (o.task == Task::binary) return detail::safe_divide(c.tp + c.tn, all).to(torch::kFloat);
    const bool multilabel = o.task == Task::multilabel;
    torch::Tensor score;
    if (o.average == Average::micro) {
      score = multilabel ? detail::safe_divide((c.tp + c.tn).sum(), all.sum())
                         : detail::safe_divide(c.tp.sum(), (c.tp + c.fn).sum());
    } else {
      // Multiclass per-class accuracy is recall; multilabel counts negatives too.
      score = multilabel ? detail::safe_divide(c.tp + c.tn, all) : detail::safe_divide(c.tp, c.tp + c.fn);
      score = detail::average_scores(score, c, o, o.top_k > 1);
    }
    return score.to(torch::kFloat);
  }
};

}  // namespace lightning::metrics
