// expect: two precision policies given to Trainer
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
L::Trainer<M, L::precision::F32, L::precision::F32> trainer;
