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
uint64_t seed_everything(uint64_t seed);

}  // namespace lightning
