// expect: the module must define `training_step(batch, batch_idx)`
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
L::Trainer<M> trainer;
