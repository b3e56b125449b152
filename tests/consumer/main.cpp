// Trains a regression through the vendored or installed library; exits 0 iff
// the loss fell. Built with -DCONSUMER_DDP (and the lightning-cpp-ddp flags)
// it trains under strategy::DDP in one process: a real Gloo process group of
// world size 1 (tests/consumer/run_pkgconfig_consumer.sh).
#include <lightning/lightning.hpp>
#if defined(CONSUMER_DDP)
#include <lightning/ddp.hpp>
#endif

#include <chrono>
#include <cstdio>

namespace L = lightning;

struct Model : L::LightningModule<Model> {
  torch::nn::Linear layer{nullptr};
  Model() : layer(register_module("layer", torch::nn::Linear(4, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) { return torch::mse_loss(layer(b.data), b.target); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-2)); }
};

int main() {
  L::seed_everything(0);
  auto x = torch::randn({256, 4});
  auto y = x.sum(1, true);
  L::data::TensorLoader loader({x, y}, {.batch_size = 32, .shuffle = true});
  Model model;
  const double before = torch::mse_loss(model.layer(x), y).item<double>();
#if defined(CONSUMER_DDP)
  L::Trainer<Model, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> trainer(
      {.max_epochs = 30}, L::strategy::DDP({.backend = "gloo", .timeout = std::chrono::seconds(60)}));
#else
  L::BareTrainer<Model> trainer({.max_epochs = 30});
#endif
  trainer.fit(model, loader);
  const double after = torch::mse_loss(model.layer(x), y).item<double>();
  std::printf("consumer: mse %.4f -> %.4f\n", before, after);
  return after < before / 10 ? 0 : 1;
}
