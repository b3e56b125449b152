// The optimizer state codecs of LibTorch's optimizers, instantiated once
// (optimizer_state.hpp declares them extern).
#include "lightning/checkpoint/optimizer_state.hpp"

namespace lightning::checkpoint {
#define LIGHTNING_OPTIMIZER_STATE(Opt)                    \
  template Dict optimizer_state_dict<Opt>(Opt&);          \
  template void load_optimizer_state_dict<Opt>(Opt&, const Dict&, const std::string&);
LIGHTNING_OPTIMIZER_STATE(torch::optim::SGD)
LIGHTNING_OPTIMIZER_STATE(torch::optim::Adam)
LIGHTNING_OPTIMIZER_STATE(torch::optim::AdamW)
LIGHTNING_OPTIMIZER_STATE(torch::optim::RMSprop)
LIGHTNING_OPTIMIZER_STATE(torch::optim::Adagrad)
#undef LIGHTNING_OPTIMIZER_STATE
}  // namespace lightning::checkpoint
