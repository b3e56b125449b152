// Gradient clipping (see optim/clipping.hpp).
#include "lightning/optim/clipping.hpp"

namespace lightning {

void clip_gradient_tensors(std::vector<torch::Tensor>& grads, double clip_val, GradClipAlgorithm algorithm) {
  if (clip_val <= 0 || grads.empty()) return;
  torch::NoGradGuard no_grad;
  if (algorithm == GradClipAlgorithm::value) {
    for (auto& g : grads) g.clamp_(-clip_val, clip_val);
    return;
  }
  std::vector<torch::Tensor> norms;
  norms.reserve(grads.size());
  for (auto& g : grads) norms.push_back(g.norm(2));
  auto total = torch::stack(norms).norm(2);
  auto coef = (clip_val / (total + 1e-6)).clamp_max(1.0);
  for (auto& g : grads) g.mul_(coef.to(g.device()));
}

}  // namespace lightning
