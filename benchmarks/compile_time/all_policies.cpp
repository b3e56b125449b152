// (c) of compile_time.sh: every policy and default component in use.
#include <lightning/lightning.hpp>

namespace L = lightning;

struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  L::metrics::MeanSquaredError mse;
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  auto configure_optimizers() {
    torch::optim::Adam opt(parameters(), torch::optim::AdamOptions(1e-3));
    L::optim::CosineAnnealingLR sched(opt, {.T_max = 10});
    return std::pair{std::move(opt), std::move(sched)};
  }
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = torch::mse_loss(layer(b.data), b.target);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const L::Batch& b, int64_t) {
    mse.update(layer(b.data), b.target);
    log("val_mse", mse);
  }
  void test_step(const L::Batch& b, int64_t) { log("test_loss", torch::mse_loss(layer(b.data), b.target)); }
};

int main() {
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, true);
  L::data::TensorLoader loader({x, y}, {.batch_size = 32, .shuffle = true});
  Regression model;
  L::Trainer<Regression, L::precision::BF16Mixed, L::strategy::Single,
             L::OnlyCallbacks<L::ModelSummary, L::ProgressBar, L::LearningRateMonitor>,
             L::Loggers<L::CSVLogger, L::TensorBoardLogger>>
      trainer({.max_epochs = 3, .gradient_clip_val = 1.0});
  trainer.fit(model, loader, loader);
  trainer.test(model, loader);
}
