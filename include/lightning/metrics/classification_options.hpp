#pragma once
// Options shared by Accuracy, Precision, Recall and F1Score, named and
// defaulted as torchmetrics' task wrappers (`Accuracy(task=..., ...)`).
#include <cstdint>
#include <optional>

namespace lightning::metrics {

/// What the inputs look like (torchmetrics' `task`).
///  - binary: preds (N, ...) probabilities, logits or 0/1 labels; target (N, ...) 0/1.
///  - multiclass: preds (N, C, ...) scores or (N, ...) labels; target (N, ...) class indices.
///  - multilabel: preds (N, L, ...) probabilities, logits or 0/1; target (N, L, ...) 0/1.
enum class Task { binary, multiclass, multilabel };

/// How per-class (per-label) scores become one number. Binary tasks ignore it.
///  - micro: one score from the counts summed over classes.
///  - macro: unweighted mean of per-class scores. As torchmetrics, a multiclass class
///    with no tp, fp or fn (never a target, never predicted) is left out of the mean,
///    while a class predicted but never a target counts with its score (0). With
///    top_k > 1, Accuracy/Precision/Recall leave out every class that is never a target.
///    Multilabel averages over every label.
///  - weighted: mean of per-class scores weighted by support (tp + fn).
///  - none: the per-class scores, shape [C] (or [L]).
enum class Average { micro, macro, weighted, none };

/// Options of the stat-score metrics. Designated initializers must follow this
/// order: `{.task = Task::multiclass, .num_classes = 10, .top_k = 2, .average = Average::macro}`.
struct ClassificationOptions {
  Task task = Task::multiclass;
  int64_t num_classes = 0;  // multiclass: C >= 2
  int64_t num_labels = 0;   // multilabel: L >= 2
  int64_t top_k = 1;        // multiclass with scores: a hit when the target is among the k best
  Average average = Average::micro;
  double threshold = 0.5;   // binary/multilabel: positive when probability > threshold
  std::optional<int64_t> ignore_index = std::nullopt;  // targets equal to it are skipped
  double zero_division = 0;  // Precision/Recall/F1Score: a score whose denominator is 0
  bool validate_args = true;  // check target/label values (reads them to the host)
};

}  // namespace lightning::metrics
