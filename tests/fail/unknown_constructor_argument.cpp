// expect: a Trainer constructor argument matches none of its callbacks, loggers or policies
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
struct NotListed {};
L::Trainer<M> trainer({}, NotListed{});
