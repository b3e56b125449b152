// expect: the module defines `on_train_epoch_end` with parameters the Trainer cannot call it with; expected: void on_train_epoch_end()
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  void on_train_epoch_end(int epoch) { (void)epoch; }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
int main() {
  M m;
  L::Trainer<M> trainer;
  L::data::TensorLoader loader({torch::zeros({4, 2}), torch::zeros({4})});
  trainer.fit(m, loader);
}
