#pragma once
// Turns classification inputs (scores, logits, probabilities or labels, any
// trailing dims) into flat 0/1 or label tensors, checking shapes and values
// the way torchmetrics does. Shared by the stat-score metrics and ConfusionMatrix.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "../classification_options.hpp"
#include "state.hpp"

namespace lightning::metrics::detail {

/// What formatting needs to know; `who` (the metric's name) starts every error message.
struct InputSpec {
  Task task = Task::multiclass;
  int64_t classes = 2;  // C (multiclass), L (multilabel), 2 (binary)
  double threshold = 0.5;
  std::optional<int64_t> ignore_index;
  bool validate = true;
  const char* who = "metric";
};

/// Inputs with samples flattened along dim 0. `valid` is false where the target
/// equals ignore_index; those targets are replaced by 0 so they index safely.
struct FlatInputs {
  torch::Tensor preds;   // int64: 0/1 [M] (binary) or [M, L] (multilabel); labels [M] or top-k one-hot [M, C]
  torch::Tensor target;  // int64: [M] (binary, multiclass) or [M, L] (multilabel)
  torch::Tensor valid;   // bool, target's shape
};

[[noreturn]] inline void input_error(const InputSpec& s, const std::string& what) {
  throw std::invalid_argument(std::string(s.who) + ": " + what);
}

inline void check_target_dtype(const torch::Tensor& target, const InputSpec& s) {
  if (target.is_floating_point() || target.is_complex())
    input_error(s, std::string("target must hold integer labels, got dtype ") + std::string(c10::toString(target.scalar_type())) +
                       "; convert it with .to(torch::kLong)");
}

/// Marks targets equal to ignore_index invalid and zeroes them.
inline void mask_ignored(FlatInputs& in, const InputSpec& s) {
  if (s.ignore_index) {
    in.valid = in.target != *s.ignore_index;
    in.target = torch::where(in.valid, in.target, torch::zeros_like(in.target));
  } else {
    in.valid = torch::ones_like(in.target, torch::kBool);
  }
}

/// Throws if a value (where `valid`, when given) lies outside [0, upper).
/// Reads one boolean to the host: what `validate_args = false` avoids.
inline void check_range(const torch::Tensor& values, const torch::Tensor& valid, int64_t upper, const InputSpec& s,
                        const char* name, const std::string& expected) {
  auto bad = (values < 0) | (values >= upper);
  if (valid.defined()) bad = bad & valid;
  if (bad.any().item<bool>()) {
    const auto first = values.masked_select(bad).index({0}).item<int64_t>();
    input_error(s, std::string(name) + " holds " + std::to_string(first) + ", expected " + expected);
  }
}

inline std::string ignore_hint(const InputSpec& s) {
  return s.ignore_index ? " (or ignore_index = " + std::to_string(*s.ignore_index) + ")" : "";
}

/// Float scores to 0/1 as torchmetrics: when any value of the batch lies outside
/// [0, 1] they are logits and get a sigmoid; then positive means `> threshold`.
/// The choice is made on the device (no host read).
inline torch::Tensor threshold_scores(torch::Tensor scores, double threshold) {
  if (scores.scalar_type() == torch::kHalf || scores.scalar_type() == torch::kBFloat16) scores = scores.to(torch::kFloat);
  auto probabilities = ((scores >= 0) & (scores <= 1)).all();
  auto probs = torch::where(probabilities, scores, scores.sigmoid());
  return (probs > threshold).to(torch::kLong);
}

/// 0/1 predictions and targets laid out like `flatten(x)`; preds float → thresholded.
inline FlatInputs zero_one_inputs(const torch::Tensor& preds, const torch::Tensor& target, const InputSpec& s,
                                  torch::Tensor (*flatten)(const torch::Tensor&, int64_t)) {
  FlatInputs in;
  in.target = flatten(target, s.classes).to(torch::kLong);
  mask_ignored(in, s);
  auto p = flatten(preds, s.classes);
  if (p.is_floating_point()) {
    in.preds = threshold_scores(p, s.threshold);
  } else {
    in.preds = p.to(torch::kLong);
    if (s.validate) check_range(in.preds, {}, 2, s, "preds", "0/1 labels (or float probabilities/logits)");
  }
  if (s.validate) check_range(in.target, in.valid, 2, s, "target", "0 or 1" + ignore_hint(s));
  return in;
}

/// Binary: preds and target of one shape (N, ...), flattened to [M].
inline FlatInputs binary_inputs(const torch::Tensor& preds, const torch::Tensor& target, const InputSpec& s) {
  if (preds.sizes() != target.sizes()) {
    std::string hint;
    if (preds.dim() == target.dim() + 1 && preds.size(-1) == 1) hint = "; squeeze preds' last dim (preds.squeeze(-1))";
    input_error(s, "binary preds and target must have the same shape (N, ...), got preds " + shape_str(preds) +
                       " and target " + shape_str(target) + hint);
  }
  check_target_dtype(target, s);
  return zero_one_inputs(preds, target, s, [](const torch::Tensor& x, int64_t) { return x.reshape({-1}); });
}

/// Multilabel: preds and target (N, L, ...), flattened to [M, L].
inline FlatInputs multilabel_inputs(const torch::Tensor& preds, const torch::Tensor& target, const InputSpec& s) {
  if (preds.sizes() != target.sizes())
    input_error(s, "multilabel preds and target must have the same shape (N, L, ...), got preds " + shape_str(preds) +
                       " and target " + shape_str(target));
  if (preds.dim() < 2 || preds.size(1) != s.classes)
    input_error(s, "multilabel inputs must be (N, L, ...) with L = num_labels = " + std::to_string(s.classes) +
                       " in dim 1, got shape " + shape_str(preds));
  check_target_dtype(target, s);
  return zero_one_inputs(preds, target, s, [](const torch::Tensor& x, int64_t labels) {
    return x.movedim(1, -1).reshape({-1, labels});
  });
}

/// Multiclass: preds (N, C, ...) scores or (N, ...) labels; target (N, ...) indices.
/// preds become labels [M] (top_k == 1: argmax) or a top-k one-hot [M, C].
inline FlatInputs multiclass_inputs(torch::Tensor preds, torch::Tensor target, int64_t top_k, const InputSpec& s) {
  check_target_dtype(target, s);
  const int64_t C = s.classes;
  if (target.dim() == 0) {  // one sample without a batch dim
    target = target.unsqueeze(0);
    preds = preds.unsqueeze(0);
  }
  FlatInputs in;
  if (preds.dim() == target.dim() + 1) {
    if (!preds.is_floating_point())
      input_error(s, "preds with one dim more than target must be float scores (N, C, ...), got dtype " +
                         std::string(c10::toString(preds.scalar_type())));
    if (preds.size(1) != C)
      input_error(s, "preds have " + std::to_string(preds.size(1)) + " classes in dim 1 (shape " + shape_str(preds) +
                         "), expected num_classes = " + std::to_string(C));
    if (preds.size(0) != target.size(0) || preds.sizes().slice(2) != target.sizes().slice(1))
      input_error(s, "preds " + shape_str(preds) + " and target " + shape_str(target) +
                         " disagree: expected preds (N, C, ...) and target (N, ...)");
    auto scores = preds.movedim(1, -1).reshape({-1, C});
    if (scores.scalar_type() == torch::kHalf || scores.scalar_type() == torch::kBFloat16) scores = scores.to(torch::kFloat);
    if (top_k == 1) {
      in.preds = scores.argmax(-1);
    } else {
      in.preds = torch::one_hot(std::get<1>(scores.topk(top_k, -1)), C).sum(1);
    }
  } else if (preds.dim() == target.dim()) {
    if (preds.sizes() != target.sizes())
      input_error(s, "label preds and target must have the same shape, got preds " + shape_str(preds) + " and target " +
                         shape_str(target));
    if (preds.is_floating_point())
      input_error(s, "preds of target's shape must be integer class labels, got dtype " +
                         std::string(c10::toString(preds.scalar_type())) + "; pass scores as (N, C, ...)");
    if (top_k != 1)
      input_error(s, "top_k = " + std::to_string(top_k) + " needs scores (N, C, ...), got label preds " + shape_str(preds));
    in.preds = preds.reshape({-1}).to(torch::kLong);
    if (s.validate) check_range(in.preds, {}, C, s, "preds", "class labels in [0, " + std::to_string(C) + ")");
  } else {
    input_error(s, "expected preds (N, C, ...) scores or (N, ...) labels and target (N, ...), got preds " +
                       shape_str(preds) + " and target " + shape_str(target));
  }
  in.target = target.reshape({-1}).to(torch::kLong);
  mask_ignored(in, s);
  if (s.validate)
    check_range(in.target, in.valid, C, s, "target",
                "class indices in [0, num_classes = " + std::to_string(C) + ")" + ignore_hint(s));
  return in;
}

/// Counts of (target, pred) label pairs, [C, C] with rows = target. Invalid
/// samples go to an extra bin that is dropped, so counting stays on the device.
inline torch::Tensor confusion_counts(const torch::Tensor& pred_labels, const torch::Tensor& target,
                                      const torch::Tensor& valid, int64_t C) {
  auto bins = torch::where(valid, target * C + pred_labels, torch::full_like(target, C * C));
  return torch::bincount(bins, {}, C * C + 1).narrow(0, 0, C * C).reshape({C, C});
}

}  // namespace lightning::metrics::detail
