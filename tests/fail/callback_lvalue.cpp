// expect: the Trainer keeps its own instance, so the object you passed would never see the run
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
// The cheatsheet's `ckpt = ModelCheckpoint(...); Trainer(callbacks=[ckpt]); ckpt.best_model_path`:
// the Trainer would train with a copy and `ckpt` would stay empty.
L::ModelCheckpoint ckpt({.monitor = "val_loss"});
L::Trainer<M, L::Callbacks<L::ModelCheckpoint>> trainer({}, ckpt);
