// The smallest Lightning program: Linear(10, 1), MSE, Adam 1e-3, 1000 random
// samples, batch 32, three epochs.
#include <lightning/lightning.hpp>

#include <cstdio>

namespace L = lightning;
namespace F = torch::nn::functional;

struct Regressor : L::LightningModule<Regressor> {
  torch::nn::Linear layer{nullptr};

  Regressor() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}

  torch::Tensor training_step(const L::Batch& batch, int64_t) {
    auto loss = F::mse_loss(layer(batch.data), batch.target);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

int main() try {  // an error ends the program with its message, not "terminate called"
  L::seed_everything(42);
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, /*keepdim=*/true) * 0.5 + 0.1 * torch::randn({1000, 1});
  L::data::TensorLoader train({x, y}, {.batch_size = 32, .shuffle = true});

  Regressor model;
  auto mse = [&] {
    torch::NoGradGuard no_grad;
    return F::mse_loss(model.layer(x), y).item<double>();
  };
  const double before = mse();
  L::Trainer<Regressor> trainer({.max_epochs = 3});
  trainer.fit(model, train);
  const double after = mse();
  std::printf("mse over the data set: %.4f before training, %.4f after\n", before, after);
  return after < before ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
