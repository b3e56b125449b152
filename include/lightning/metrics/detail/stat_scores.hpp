#pragma once
// True/false positives/negatives per class, accumulated over updates: the one
// state behind Accuracy, Precision, Recall and F1Score, which differ only in
// how they reduce it (torchmetrics' `_*_reduce` functions).
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../classification_options.hpp"
#include "../metric.hpp"
#include "classification_input.hpp"
#include "state.hpp"

namespace lightning::metrics::detail {

/// The counts as float64, for reducing to a score.
struct Counts {
  torch::Tensor tp, fp, tn, fn;
};

/// int64 counts of tp/fp/tn/fn: scalars for binary, [C] per class, [L] per label.
class StatScores {
 public:
  StatScores(const ClassificationOptions& o, const char* who) : opts_(o), who_(who) {
    validate_options();
    reset();
  }

  void update(const torch::Tensor& preds, const torch::Tensor& target) {
    torch::NoGradGuard no_grad;
    const InputSpec spec{opts_.task, classes(), opts_.threshold, opts_.ignore_index, opts_.validate_args, who_};
    torch::Tensor tp, fp, tn, fn;
    switch (opts_.task) {
      case Task::binary:
      case Task::multilabel: {
        auto in = opts_.task == Task::binary ? binary_inputs(preds, target, spec) : multilabel_inputs(preds, target, spec);
        // Sum over samples: everything for binary, dim 0 (keeping labels) for multilabel.
        auto count = [&](const torch::Tensor& hit) {
          auto h = hit & in.valid;
          return opts_.task == Task::binary ? h.sum() : h.sum(0);
        };
        auto p = in.preds.to(torch::kBool), t = in.target.to(torch::kBool);
        tp = count(p & t);
        fp = count(p & ~t);
        tn = count(~p & ~t);
        fn = count(~p & t);
        break;
      }
      case Task::multiclass: {
        auto in = multiclass_inputs(preds, target, opts_.top_k, spec);
        const int64_t C = opts_.num_classes;
        if (opts_.top_k == 1) {
          auto confusion = confusion_counts(in.preds, in.target, in.valid, C);
          tp = confusion.diagonal();
          fp = confusion.sum(0) - tp;
          fn = confusion.sum(1) - tp;
          tn = confusion.sum() - tp - fp - fn;
        } else {
          // Each sample predicts its k best classes: one-hot rows with k ones.
          auto valid = in.valid.unsqueeze(1).to(torch::kLong);
          auto p = in.preds;
          auto t = torch::one_hot(in.target, C);
          tp = (p * t * valid).sum(0);
          fp = (p * (1 - t) * valid).sum(0);
          fn = ((1 - p) * t * valid).sum(0);
          tn = ((1 - p) * (1 - t) * valid).sum(0);
        }
        break;
      }
    }
    auto add = [](torch::Tensor& state, const torch::Tensor& batch) {
      follow_device(state, batch.device());
      state = state + batch;  // out of place: the state may be an inference tensor
    };
    add(tp_, tp);
    add(fp_, fp);
    add(tn_, tn);
    add(fn_, fn);
  }

  void reset() {
    auto shape = opts_.task == Task::binary ? std::vector<int64_t>{} : std::vector<int64_t>{classes()};
    tp_ = torch::zeros(shape, torch::kLong);
    fp_ = torch::zeros(shape, torch::kLong);
    tn_ = torch::zeros(shape, torch::kLong);
    fn_ = torch::zeros(shape, torch::kLong);
  }

  /// tp, fp, tn, fn: all summed across processes.
  template <class F>
  void for_each_state(F&& f) {
    f(tp_, Reduction::sum);
    f(fp_, Reduction::sum);
    f(tn_, Reduction::sum);
    f(fn_, Reduction::sum);
  }

  Counts counts() const {
    return {tp_.to(torch::kDouble), fp_.to(torch::kDouble), tn_.to(torch::kDouble), fn_.to(torch::kDouble)};
  }
  const ClassificationOptions& options() const noexcept { return opts_; }

 private:
  int64_t classes() const noexcept {
    switch (opts_.task) {
      case Task::binary: return 2;
      case Task::multiclass: return opts_.num_classes;
      case Task::multilabel: return opts_.num_labels;
    }
    return 0;
  }

  [[noreturn]] void fail(const std::string& what) const { throw std::invalid_argument(std::string(who_) + ": " + what); }

  void validate_options() const {
    if (opts_.task == Task::multiclass) {
      if (opts_.num_classes < 2)
        fail("multiclass needs num_classes >= 2, got " + std::to_string(opts_.num_classes) +
             " (set .num_classes, or .task = Task::binary)");
      if (opts_.top_k < 1 || opts_.top_k > opts_.num_classes)
        fail("top_k must be in [1, num_classes = " + std::to_string(opts_.num_classes) + "], got " +
             std::to_string(opts_.top_k));
    } else {
      if (opts_.top_k != 1) fail("top_k applies to multiclass only, got top_k = " + std::to_string(opts_.top_k));
    }
    if (opts_.task == Task::multilabel && opts_.num_labels < 2)
      fail("multilabel needs num_labels >= 2, got " + std::to_string(opts_.num_labels) + " (num_classes is for multiclass)");
    if (!(opts_.threshold >= 0 && opts_.threshold <= 1))
      fail("threshold must be in [0, 1], got " + std::to_string(opts_.threshold));
  }

  ClassificationOptions opts_;
  const char* who_;
  torch::Tensor tp_, fp_, tn_, fn_;
};

/// num / den, with `zero_division` where den == 0 (float64).
inline torch::Tensor safe_divide(const torch::Tensor& num, const torch::Tensor& den, double zero_division = 0) {
  return torch::where(den != 0, num / den, torch::full_like(num, zero_division));
}

/// Reduces per-class scores by `average` (not micro: that sums counts first).
/// `skip_absent_targets`: macro leaves out classes that are never a target
/// (torchmetrics with top_k > 1), instead of those with no tp, fp or fn.
inline torch::Tensor average_scores(const torch::Tensor& score, const Counts& c, const ClassificationOptions& o,
                                    bool skip_absent_targets) {
  if (o.average == Average::none) return score;
  torch::Tensor weights;
  if (o.average == Average::weighted) {
    weights = c.tp + c.fn;
  } else {
    weights = torch::ones_like(score);
    if (o.task != Task::multilabel) {
      auto absent = skip_absent_targets ? (c.tp + c.fn == 0) : (c.tp + c.fp + c.fn == 0);
      weights = torch::where(absent, torch::zeros_like(weights), weights);
    }
  }
  return safe_divide((weights * score).sum(), weights.sum());
}

/// Base of the stat-score metrics: holds the counts, updates and resets them.
class StatScoresMetric {
 public:
  using Options = ClassificationOptions;

  /// Counts preds against target; see Task for the accepted shapes.
  void update(const torch::Tensor& preds, const torch::Tensor& target) { stats_.update(preds, target); }
  /// Fresh zero counts.
  void reset() { stats_.reset(); }
  /// The four int64 count tensors, each reduced by sum (see SyncableMetric).
  template <class F>
  void for_each_state(F&& f) {
    stats_.for_each_state(f);
  }
  const Options& options() const noexcept { return stats_.options(); }

 protected:
  StatScoresMetric(const Options& o, const char* who) : stats_(o, who) {}
  StatScores stats_;
};

}  // namespace lightning::metrics::detail
