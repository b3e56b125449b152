// Positive control: the same model with every optional component in use,
// so the names the compile-away check looks for are shown to be findable.
// Built, never run (16-mixed cannot run on a CPU build).
#include <lightning/lightning.hpp>

namespace L = lightning;

struct Regression : L::LightningModule<Regression> {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = torch::mse_loss(layer(b.data), b.target);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

template <class Precision>
int train() {
  auto x = torch::randn({64, 10});
  L::data::TensorLoader loader({x, x.sum(1, true)}, {.batch_size = 32});
  Regression model;
  L::Trainer<Regression, Precision,
             L::OnlyCallbacks<L::ModelSummary, L::ProgressBar, L::LearningRateMonitor>,
             L::Loggers<L::CSVLogger, L::TensorBoardLogger>>
      trainer({.max_epochs = 1});
  trainer.fit(model, loader);
  return trainer.global_step() == 2 ? 0 : 1;
}

int main(int argc, char**) { return argc > 1 ? train<L::precision::F16Mixed>() : train<L::precision::BF16Mixed>(); }
