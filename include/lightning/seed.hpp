#pragma once
// seed_everything: one seed for torch and for the library's own generators.
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace lightning {
namespace detail {
// The library's generators (loader shuffles) derive from this when not seeded explicitly.
inline std::atomic<uint64_t>& global_seed() {
  static std::atomic<uint64_t> seed{0};
  return seed;
}
}  // namespace detail

/// Seeds torch's CPU (and CUDA, when present) generators and the library's
/// own, sets PL_GLOBAL_SEED like Lightning, and returns the seed.
inline uint64_t seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  std::srand(static_cast<unsigned>(seed));
  detail::global_seed().store(seed);
  ::setenv("PL_GLOBAL_SEED", std::to_string(seed).c_str(), 1);
  return seed;
}

}  // namespace lightning
