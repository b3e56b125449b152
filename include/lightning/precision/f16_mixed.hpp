#pragma once
// precision::F16Mixed ("16-mixed"): forward and loss under CUDA autocast to
// float16, parameters and optimizer float32, and dynamic loss scaling by a
// GradScaler so small float16 gradients do not flush to zero: backward runs
// on the scaled loss, unscale() restores the true gradients before clipping,
// optimizer_step() skips steps whose gradients overflowed and updates the
// scale. CUDA only: LibTorch 1.13 has no float16 autocast on CPU.
#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <type_traits>

#include "bf16_mixed.hpp"
#include "f32.hpp"
#include "grad_scaler.hpp"

namespace lightning::precision {

/// "16-mixed" (see the top of this file): `L::precision::F16Mixed({.init_scale = 1024.0})`
/// sets the scaler's options (PyTorch's defaults otherwise).
class F16Mixed {
 public:
  using policy_kind = lightning::policy_kind::precision;
  static constexpr const char* name = "16-mixed";

  F16Mixed() = default;
  explicit F16Mixed(GradScalerOptions scaler) : scaler_(scaler) {}

  /// Throws std::invalid_argument unless `device` is a CUDA device: Lightning
  /// refuses 16-mixed on CPU as well, and bf16-mixed is the CPU alternative.
  void setup(const torch::Device& device) {
    if (device.type() != torch::kCUDA)
      throw std::invalid_argument(
          "L::precision::F16Mixed (\"16-mixed\") needs a CUDA device, got '" + device.str() +
          "': LibTorch 1.13 has no float16 autocast on CPU. Use L::precision::BF16Mixed (\"bf16-mixed\") "
          "instead on CPU");
    device_type_ = device.type();
  }

  /// CUDA autocast to float16 for as long as the returned guard lives.
  Autocast forward_context() const { return Autocast(device_type_, torch::kHalf); }

  /// Master weights stay float32 (the scaler refuses float16 gradients).
  template <class Module>
  static void convert_module(Module&) noexcept {}
  template <class B>
  static B&& convert_input(B&& batch) noexcept {
    return static_cast<B&&>(batch);
  }

  /// Backward on `loss * scale`: the hooks and the log see the unscaled loss.
  void backward(const torch::Tensor& loss) { scaler_.scale(loss).backward(); }

  /// Divides the gradients by the scale before clipping; idempotent within a
  /// step (a second call before optimizer_step() does nothing).
  template <class Optimizer>
  void unscale(Optimizer& opt) {
    if (!scaler_.is_unscaled(opt)) scaler_.unscale(opt);
  }

  /// Steps unless a gradient is inf/NaN, then updates the scale (Lightning's
  /// scaler.step + scaler.update). Returns whether the step was taken, so a
  /// skipped step does not advance the LR scheduler.
  template <class Optimizer>
  bool optimizer_step(Optimizer& opt) {
    const bool stepped = scaler_.step(opt);
    scaler_.update();
    return stepped;
  }

  /// The scaler's state (PyTorch's GradScaler keys) for checkpoints.
  StateDict state_dict() const { return scaler_.state_dict(); }
  void load_state_dict(const StateDict& d) { scaler_.load_state_dict(d); }

  GradScaler& scaler() noexcept { return scaler_; }
  const GradScaler& scaler() const noexcept { return scaler_; }

 private:
  GradScaler scaler_;
  // CUDA, as Lightning's MixedPrecision(device="cuda"), until setup() says otherwise.
  torch::DeviceType device_type_ = torch::kCUDA;
};

}  // namespace lightning::precision
