#pragma once
// Random number generator states, so a resumed run draws the same dropout
// masks and shuffles as the uninterrupted one would have (Lightning saves none).
#include <torch/torch.h>

#include <mutex>

#include "../seed.hpp"
#include "dict.hpp"

namespace lightning::checkpoint {

/// The state of torch's CPU generator.
torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

/// torch's CPU generator (and every CUDA one, when there are any) plus the library's seed.
Dict rng_state();

void set_rng_state(const Dict& d);

}  // namespace lightning::checkpoint
