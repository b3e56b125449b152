// The seed-sized program of the compile-time benchmark: what a new user
// writes first. Linear(10, 1), MSE, Adam, one logged value, the default
// Trainer (progress bar, model summary, ModelCheckpoint, CSVLogger).
#include <lightning/lightning.hpp>

namespace L = lightning;

struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}

  torch::Tensor training_step(const L::Batch& batch, int64_t) {
    auto loss = torch::mse_loss(layer(batch.data), batch.target);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }

  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

int main() {
  L::seed_everything(42);
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, true);  // EDIT-ME: the benchmark changes this line
  L::data::TensorLoader loader({x, y}, {.batch_size = 32, .shuffle = true});
  Regression model;
  L::Trainer<Regression> trainer({.max_epochs = 3});
  trainer.fit(model, loader);
}
