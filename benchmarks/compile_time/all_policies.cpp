// (c) of compile_time.sh: every policy and default component in use.
#include <lightning/lightning.hpp>

namespace L = lightning;

struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  L::metrics::Accuracy acc{{.num_classes = 2}};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = torch::mse_loss(layer(b.data), b.target);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const L::Batch& b, int64_t) { log("val_loss", torch::mse_loss(layer(b.data), b.target)); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

int main() {
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, true);
  L::data::TensorLoader loader({x, y}, {.batch_size = 32, .shuffle = true});
  Regression model;
  L::Trainer<Regression, L::precision::F32, L::strategy::Single, L::Callbacks<L::ProgressBar>, L::Loggers<>> trainer(
      {.max_epochs = 3});
  trainer.fit(model, loader, loader);
  trainer.test(model, loader);
}
