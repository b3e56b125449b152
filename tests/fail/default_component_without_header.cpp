// expect: whose headers are not included: #include <lightning/lightning.hpp>
#include <lightning/core.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
// The default Trainer uses ModelCheckpoint, ProgressBar, ModelSummary and CSVLogger: core.hpp declares them only.
L::Trainer<M> trainer;
