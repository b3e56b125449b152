// (see seed.hpp)
#include "lightning/seed.hpp"

namespace lightning {

uint64_t seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  std::srand(static_cast<unsigned>(seed));
  detail::global_seed().store(seed);
  ::setenv("PL_GLOBAL_SEED", std::to_string(seed).c_str(), 1);
  return seed;
}

}  // namespace lightning
