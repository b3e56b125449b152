#pragma once
// Confusion matrix accumulated over an epoch, oriented as torchmetrics':
// rows are the target class, columns the predicted class.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "classification_options.hpp"
#include "detail/classification_input.hpp"
#include "detail/state.hpp"
#include "metric.hpp"

namespace lightning::metrics {

/// Optional normalization of the counts (torchmetrics' `normalize`); a 0/0
/// entry becomes 0.
enum class Normalize {
  none,    // int64 counts
  target,  // torchmetrics' "true": each row (one target class) sums to 1
  pred,    // each column (one predicted class) sums to 1
  all,     // the whole matrix sums to 1
};

/// torchmetrics' ConfusionMatrix. compute() is [2, 2] for binary, [C, C] for
/// multiclass (scores are argmax-ed) and [L, 2, 2] for multilabel (one binary
/// matrix per label). Entry [t][p] counts samples with target t predicted p.
class ConfusionMatrix : public Callable<ConfusionMatrix> {
 public:
  /// Same meanings as in ClassificationOptions; designated initializers in this order.
  struct Options {
    Task task = Task::multiclass;
    int64_t num_classes = 0;  // multiclass: C >= 2
    int64_t num_labels = 0;   // multilabel: L >= 2
    double threshold = 0.5;
    Normalize normalize = Normalize::none;
    std::optional<int64_t> ignore_index = std::nullopt;
    bool validate_args = true;
  };

  explicit ConfusionMatrix(const Options& o) : opts_(o) {
    if (o.task == Task::multiclass && o.num_classes < 2)
      fail("multiclass needs num_classes >= 2, got " + std::to_string(o.num_classes));
    if (o.task == Task::multilabel && o.num_labels < 2)
      fail("multilabel needs num_labels >= 2, got " + std::to_string(o.num_labels) + " (num_classes is for multiclass)");
    if (!(o.threshold >= 0 && o.threshold <= 1)) fail("threshold must be in [0, 1], got " + std::to_string(o.threshold));
    reset();
  }

  /// Counts preds against target; shapes as for Task.
  void update(const torch::Tensor& preds, const torch::Tensor& target) {
    torch::NoGradGuard no_grad;
    const int64_t classes = opts_.task == Task::binary       ? 2
                            : opts_.task == Task::multiclass ? opts_.num_classes
                                                             : opts_.num_labels;
    const detail::InputSpec spec{opts_.task, classes, opts_.threshold, opts_.ignore_index, opts_.validate_args,
                                 "ConfusionMatrix"};
    torch::Tensor counts;
    if (opts_.task == Task::binary) {
      auto in = detail::binary_inputs(preds, target, spec);
      counts = detail::confusion_counts(in.preds, in.target, in.valid, 2);
    } else if (opts_.task == Task::multiclass) {
      auto in = detail::multiclass_inputs(preds, target, 1, spec);
      counts = detail::confusion_counts(in.preds, in.target, in.valid, classes);
    } else {
      // Label l's (target, pred) pair goes to bin 4 l + 2 target + pred.
      auto in = detail::multilabel_inputs(preds, target, spec);
      auto label = torch::arange(classes, in.target.options()).unsqueeze(0);
      auto bins = torch::where(in.valid, 4 * label + 2 * in.target + in.preds, torch::full_like(in.target, 4 * classes));
      counts = torch::bincount(bins.reshape({-1}), {}, 4 * classes + 1).narrow(0, 0, 4 * classes).reshape({classes, 2, 2});
    }
    detail::follow_device(confmat_, counts.device());
    confmat_ = confmat_ + counts;  // out of place: the state may be an inference tensor
  }

  /// int64 counts, or float32 fractions when normalized.
  torch::Tensor compute() const {
    if (opts_.normalize == Normalize::none) return confmat_.clone();
    auto m = confmat_.to(torch::kDouble);
    torch::Tensor total;
    switch (opts_.normalize) {
      case Normalize::target: total = m.sum(-1, true); break;
      case Normalize::pred: total = m.sum(-2, true); break;
      default: total = m.sum({-2, -1}, true); break;
    }
    return torch::where(total != 0, m / total, torch::zeros_like(m)).to(torch::kFloat);
  }

  void reset() {
    confmat_ = opts_.task == Task::multilabel ? torch::zeros({opts_.num_labels, 2, 2}, torch::kLong)
               : opts_.task == Task::binary   ? torch::zeros({2, 2}, torch::kLong)
                                              : torch::zeros({opts_.num_classes, opts_.num_classes}, torch::kLong);
  }

  /// One int64 state, the counts, summed across processes.
  template <class F>
  void for_each_state(F&& f) {
    f(confmat_, Reduction::sum);
  }

  const Options& options() const noexcept { return opts_; }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("ConfusionMatrix: " + what);
  }

  Options opts_;
  torch::Tensor confmat_;
};

}  // namespace lightning::metrics
