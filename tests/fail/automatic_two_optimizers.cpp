// expect: automatic optimization steps one optimizer
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::nn::Linear a{nullptr}, b{nullptr};
  torch::Tensor training_step(const L::Batch& batch, int64_t) { return batch.data.sum(); }
  auto configure_optimizers() {
    return std::pair{torch::optim::SGD(a->parameters(), torch::optim::SGDOptions(0.1)),
                     torch::optim::SGD(b->parameters(), torch::optim::SGDOptions(0.1))};
  }
};
L::Trainer<M> trainer;
