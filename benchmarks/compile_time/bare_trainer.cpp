// (b) of compile_time.sh: workload A with the bare Trainer.
#include <lightning/lightning.hpp>

namespace L = lightning;

struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) { return torch::mse_loss(layer(b.data), b.target); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

int main() {
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, true);
  L::data::TensorLoader loader({x, y}, {.batch_size = 32});
  Regression model;
  L::BareTrainer<Regression> trainer({.max_epochs = 3});
  trainer.fit(model, loader);
}
