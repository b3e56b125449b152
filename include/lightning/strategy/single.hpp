#pragma once
// strategy::Single: one process on one device.
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../data/batch.hpp"
#include "../policies/kinds.hpp"
#include "../trainer_options.hpp"

namespace lightning::strategy {

/// The device an accelerator choice means on this build of LibTorch.
inline torch::Device select_device(Accelerator a) {
  switch (a) {
    case Accelerator::cpu: return torch::kCPU;
    case Accelerator::gpu:
      if (!torch::cuda::is_available())
        throw std::invalid_argument(
            "accelerator = gpu was requested, but this LibTorch has no usable CUDA device "
            "(built without CUDA, or no GPU visible). Use Accelerator::cpu or Accelerator::automatic.");
      return torch::Device(torch::kCUDA, 0);
    case Accelerator::automatic: break;
  }
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

class Single {
 public:
  using policy_kind = lightning::policy_kind::strategy;

  Single() = default;

  void setup_environment(const TrainerOptions& o) {
    if (o.devices != 1 || o.num_nodes != 1)
      throw std::invalid_argument("devices = " + std::to_string(o.devices) + ", num_nodes = " +
                                  std::to_string(o.num_nodes) +
                                  " needs a distributed strategy: add L::strategy::DDP to the Trainer's policies");
    device_ = select_device(o.accelerator);
  }

  const torch::Device& root_device() const noexcept { return device_; }

  template <class Module>
  void setup_module(Module& m) {
    if (!device_.is_cpu()) m.to(device_);
  }

  template <class B>
  B batch_to_device(B batch) const {
    return data::transfer_batch_to_device(std::move(batch), device_);
  }

  static constexpr int64_t world_size() noexcept { return 1; }
  static constexpr int64_t global_rank() noexcept { return 0; }
  static constexpr int64_t local_rank() noexcept { return 0; }
  static constexpr int64_t node_rank() noexcept { return 0; }
  static constexpr bool is_global_zero() noexcept { return true; }
  static void barrier() noexcept {}
  /// Reductions across ranks are the identity with one process.
  static torch::Tensor reduce(const torch::Tensor& t) { return t; }

 private:
  torch::Device device_{torch::kCPU};
};

}  // namespace lightning::strategy
