// The bare Trainer: must contain none of the optional components' code.
#include <lightning/lightning.hpp>

namespace L = lightning;

struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = torch::mse_loss(layer(b.data), b.target);
    log("train_loss", loss);
    return loss;
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

int main() {
  auto x = torch::randn({64, 10});
  L::data::TensorLoader loader({x, x.sum(1, true)}, {.batch_size = 32});
  Regression model;
  L::BareTrainer<Regression> trainer({.max_epochs = 1});
  trainer.fit(model, loader);
  return trainer.global_step() == 2 ? 0 : 1;
}
