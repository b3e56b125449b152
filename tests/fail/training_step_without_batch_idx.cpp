// expect: the module defines `training_step` with parameters the Trainer cannot call it with; expected: auto training_step(Batch batch, int64_t batch_idx)
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
int main() {
  M m;
  L::Trainer<M> trainer;
  L::data::TensorLoader loader({torch::zeros({4, 2}), torch::zeros({4})});
  trainer.fit(m, loader);
}
