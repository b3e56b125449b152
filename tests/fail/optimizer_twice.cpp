// expect: which one wins would be ambiguous
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
using Sgd = L::Optimizer<torch::optim::SGD>;
L::Trainer<M, Sgd> trainer({}, Sgd(torch::optim::SGDOptions(0.1)));
