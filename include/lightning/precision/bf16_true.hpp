#pragma once
// precision::BF16True ("bf16-true"): module, optimizer state and floating
// inputs all in bfloat16, no float32 master weights (half the memory of
// bf16-mixed, less precise updates); the default dtype is bfloat16 inside
// forward. Runs on CPU and CUDA.
#include <torch/torch.h>

#include "f64.hpp"

namespace lightning::precision {

/// "bf16-true": F64's casts with bfloat16 (see f64.hpp).
struct BF16True : detail::TruePrecision<torch::kBFloat16> {
  static constexpr const char* name = "bf16-true";
};

}  // namespace lightning::precision
