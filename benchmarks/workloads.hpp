#pragma once
// The two seed workloads of the overhead benchmarks, as LightningModules and
// as the hand-written loop over the same in-memory batches.
#include <lightning/lightning.hpp>

#include <cstdint>
#include <vector>

namespace bench {
namespace L = lightning;
namespace F = torch::nn::functional;

/// Called as each step's forward begins, when set (op_count splits its
/// counts into steps with it; unset, it costs a predictable branch).
inline void (*step_marker)() = nullptr;
inline void mark_step() {
  if (step_marker) step_marker();
}

/// A: Linear(10, 1), MSE, Adam 1e-3 (a ~45 µs step: the loop's overhead shows).
struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor loss(const L::Batch& b) {
    mark_step();
    return F::mse_loss(layer(b.data), b.target);
  }
  torch::Tensor training_step(const L::Batch& b, int64_t) { return loss(b); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

/// A with what a Lightning user writes: the loss logged every step.
struct RegressionLogged : Regression {
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto l = loss(b);
    log("train_loss", l, {.prog_bar = true});
    return l;
  }
};

/// B: MLP 784-128-10, cross-entropy, Adam 1e-3.
struct Mlp : L::LightningModule<Mlp> {
  torch::nn::Sequential net;
  Mlp()
      : net(register_module("net", torch::nn::Sequential(torch::nn::Linear(784, 128), torch::nn::ReLU(),
                                                         torch::nn::Linear(128, 10)))) {}
  torch::Tensor loss(const L::Batch& b) {
    mark_step();
    return F::cross_entropy(net->forward(b.data), b.target);
  }
  torch::Tensor training_step(const L::Batch& b, int64_t) { return loss(b); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

struct MlpLogged : Mlp {
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto l = loss(b);
    log("train_loss", l, {.prog_bar = true});
    return l;
  }
};

/// In-memory batches, built once: every variant iterates the same tensors.
inline std::vector<L::Batch> regression_batches() {
  torch::manual_seed(0);
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, true);
  std::vector<L::Batch> out;
  for (int64_t i = 0; i < 1000; i += 32) out.emplace_back(x.slice(0, i, i + 32), y.slice(0, i, i + 32));
  return out;
}
inline std::vector<L::Batch> mlp_batches() {
  torch::manual_seed(0);
  auto x = torch::randn({64 * 50, 784});
  auto y = torch::randint(0, 10, {64 * 50});
  std::vector<L::Batch> out;
  for (int64_t i = 0; i < x.size(0); i += 64) out.emplace_back(x.slice(0, i, i + 64), y.slice(0, i, i + 64));
  return out;
}

/// The loop a LibTorch user writes by hand: what the bare Trainer must
/// match. Gradients are zeroed between forward and backward, Lightning's
/// order (LIGHTNING_SEMANTICS.md), so both dispatch the same sequence.
template <class Model>
void hand_written(Model& model, const std::vector<L::Batch>& batches, int64_t epochs) {
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(1e-3));
  model.train();
  for (int64_t e = 0; e < epochs; ++e) {
    for (const auto& b : batches) {
      auto loss = model.loss(b);
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  }
}

}  // namespace bench
