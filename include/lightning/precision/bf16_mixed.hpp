#pragma once
// precision::BF16Mixed ("bf16-mixed"): forward and loss run under autocast to
// bfloat16 (matmuls, convolutions and linear layers compute in bf16, losses
// and reductions stay float32); parameters, gradients and the optimizer
// stay float32. bfloat16 has float32's exponent range, so no loss scaling.
// Also here: Autocast, the RAII form of torch.autocast, which F16Mixed shares.
#include <torch/torch.h>

#include <ATen/autocast_mode.h>

#include <stdexcept>
#include <string>

#include "f32.hpp"

namespace lightning::precision {

/// `torch.autocast(device_type, dtype, enabled, cache_enabled)` as a guard:
/// sets the thread's autocast state for `device_type` and restores the
/// previous one on destruction (nested guards nest; the cast cache is cleared
/// when the outermost region ends, as torch.autocast does).
/// LibTorch 1.13 autocasts on CPU to bfloat16 only, on CUDA to float16 or bfloat16.
class Autocast {
 public:
  Autocast(torch::DeviceType device_type, torch::ScalarType dtype, bool enabled = true, bool cache_enabled = true)
      : device_type_(device_type) {
    check(device_type, dtype);  // before touching any state, so a throw leaves it as it was
    if (device_type == torch::kCPU) {
      prev_enabled_ = at::autocast::is_cpu_enabled();
      prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_cpu_enabled(enabled);
      at::autocast::set_autocast_cpu_dtype(dtype);
    } else {
      prev_enabled_ = at::autocast::is_enabled();
      prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_enabled(enabled);
      at::autocast::set_autocast_gpu_dtype(dtype);
    }
    at::autocast::increment_nesting();
    prev_cache_enabled_ = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(cache_enabled);
  }

  ~Autocast() {
    // The cache holds the bf16/f16 copies of the weights: drop them once no
    // autocast region is left, so the next step casts the updated weights.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (device_type_ == torch::kCPU) {
      at::autocast::set_cpu_enabled(prev_enabled_);
      at::autocast::set_autocast_cpu_dtype(prev_dtype_);
    } else {
      at::autocast::set_enabled(prev_enabled_);
      at::autocast::set_autocast_gpu_dtype(prev_dtype_);
    }
    at::autocast::set_autocast_cache_enabled(prev_cache_enabled_);
  }

  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

  /// Throws std::invalid_argument unless LibTorch 1.13 can autocast `device_type` to `dtype`.
  static void check(torch::DeviceType device_type, torch::ScalarType dtype) {
    if (device_type == torch::kCPU) {
      if (dtype != torch::kBFloat16)
        throw std::invalid_argument(std::string("Autocast: LibTorch 1.13 autocasts on CPU to bfloat16 only, got ") +
                                    c10::toString(dtype) + " (use L::precision::BF16Mixed, \"bf16-mixed\", on CPU)");
    } else if (device_type == torch::kCUDA) {
      if (dtype != torch::kHalf && dtype != torch::kBFloat16)
        throw std::invalid_argument(std::string("Autocast: CUDA autocast casts to float16 or bfloat16, got ") +
                                    c10::toString(dtype));
    } else {
      throw std::invalid_argument("Autocast: no autocast for device type '" + c10::DeviceTypeName(device_type, true) +
                                  "' in LibTorch 1.13; expected cpu or cuda");
    }
  }

 private:
  torch::DeviceType device_type_;
  bool prev_enabled_ = false;
  torch::ScalarType prev_dtype_ = torch::kBFloat16;
  bool prev_cache_enabled_ = true;
};

/// "bf16-mixed" (see the top of this file). setup(device) picks the autocast
/// device (CPU until then); the Trainer calls it when fit starts.
/// Full-precision everything else (weights, backward, step): only the scope
/// of forward and loss differs from F32.
class BF16Mixed : public F32 {
 public:
  static constexpr const char* name = "bf16-mixed";

  /// Autocasts on `device`'s type from now on; std::invalid_argument for a
  /// device without bfloat16 autocast (anything but CPU and CUDA).
  void setup(const torch::Device& device) {
    Autocast::check(device.type(), torch::kBFloat16);
    device_type_ = device.type();
  }

  /// Autocast to bfloat16 for as long as the returned guard lives.
  Autocast forward_context() const { return Autocast(device_type_, torch::kBFloat16); }

  /// The device type autocast applies to (set by setup()).
  torch::DeviceType device_type() const noexcept { return device_type_; }

 private:
  torch::DeviceType device_type_ = torch::kCPU;
};

}  // namespace lightning::precision
