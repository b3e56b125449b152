#pragma once
// precision::F16True ("16-true"): module, optimizer state and floating inputs
// all in float16, the default dtype float16 inside forward. CUDA only:
// LibTorch 1.13 has no float16 matmul on CPU ("addmm_impl_cpu_" not
// implemented for 'Half'), so setup() refuses a CPU device.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "f64.hpp"

namespace lightning::precision {

/// "16-true": F64's casts with float16 (see f64.hpp), on CUDA.
struct F16True : detail::TruePrecision<torch::kHalf> {
  static constexpr const char* name = "16-true";

  /// Throws std::invalid_argument for a device other than CUDA.
  static void setup(const torch::Device& device) {
    if (device.type() != torch::kCUDA)
      throw std::invalid_argument(
          "L::precision::F16True (\"16-true\") needs a CUDA device, got '" + device.str() +
          "': LibTorch 1.13 has no float16 matmul on CPU. Use L::precision::BF16True (\"bf16-true\") or "
          "L::precision::BF16Mixed (\"bf16-mixed\") instead on CPU");
  }
};

}  // namespace lightning::precision
