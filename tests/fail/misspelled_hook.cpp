// expect: `on_training_epoch_end` is not a hook and would never be called; did you mean `on_train_epoch_end`?
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  void on_training_epoch_end() {}
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
L::Trainer<M> trainer;
