// expect: a callback defines `on_train_epoch_end` with parameters the Trainer cannot call it with; expected: void on_train_epoch_end(auto& trainer, auto& module)
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
struct Cb {
  void on_train_epoch_end(M& module) { (void)module; }  // forgot the trainer
};
int main() {
  M m;
  L::Trainer<M, L::OnlyCallbacks<Cb>> trainer;
  L::data::TensorLoader loader({torch::zeros({4, 2}), torch::zeros({4})});
  trainer.fit(m, loader);
}
