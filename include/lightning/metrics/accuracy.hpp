#pragma once
// Accuracy over an epoch from accumulated counts (not a mean of batch means).
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace lightning::metrics {

/// Multiclass accuracy: `preds` are logits/probabilities `[N, C]` or labels `[N]`;
/// `target` holds class indices `[N]`. `top_k` counts a hit when the target is
/// among the k highest scores.
class Accuracy {
 public:
  struct Options {
    int64_t num_classes = 0;
    int64_t top_k = 1;
  };

  Accuracy() = default;
  explicit Accuracy(Options o) : opts_(o) {
    if (opts_.top_k < 1) throw std::invalid_argument("Accuracy: top_k must be >= 1, got " + std::to_string(opts_.top_k));
  }

  void update(const torch::Tensor& preds, const torch::Tensor& target) {
    torch::NoGradGuard no_grad;
    auto t = target.reshape({-1});
    torch::Tensor hits;
    if (preds.dim() == t.dim() + 1) {
      if (opts_.num_classes > 0 && preds.size(-1) != opts_.num_classes)
        throw std::invalid_argument("Accuracy: preds have " + std::to_string(preds.size(-1)) +
                                    " classes, expected num_classes = " + std::to_string(opts_.num_classes));
      auto p = preds.reshape({-1, preds.size(-1)});
      if (opts_.top_k == 1) {
        hits = p.argmax(-1).eq(t);
      } else {
        hits = std::get<1>(p.topk(opts_.top_k, -1)).eq(t.unsqueeze(-1)).any(-1);
      }
    } else {
      hits = preds.reshape({-1}).eq(t);
    }
    auto c = hits.sum().to(torch::kLong);
    correct_ = correct_.defined() ? correct_ + c : c;
    total_ += t.numel();
  }

  /// Fraction of hits so far; 0 before any update.
  torch::Tensor compute() const {
    if (!correct_.defined() || total_ == 0) return torch::zeros({}, torch::kFloat);
    return correct_.to(torch::kFloat) / static_cast<double>(total_);
  }

  void reset() {
    correct_ = torch::Tensor();
    total_ = 0;
  }

  const Options& options() const noexcept { return opts_; }

 private:
  Options opts_{};
  torch::Tensor correct_{};
  int64_t total_ = 0;
};

}  // namespace lightning::metrics
