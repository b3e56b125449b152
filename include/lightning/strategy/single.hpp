#pragma once
// strategy::Single: one process on one device.
#include <torch/torch.h>

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>

#include "../data/batch.hpp"
#include "../log_options.hpp"
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
      throw std::invalid_argument("devices = " + std::to_string(o.devices.count()) + ", num_nodes = " +
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

  // Collectives with one process are the identity: the loops call them
  // unconditionally and the compiler removes them.
  static void barrier() noexcept {}
  static const torch::Tensor& reduce(const torch::Tensor& t, Reduce = Reduce::mean) noexcept { return t; }
  static constexpr bool reduce_boolean_decision(bool decision, bool /*all*/ = true) noexcept { return decision; }
  static constexpr int64_t broadcast(int64_t value, int64_t /*src*/ = 0) noexcept { return value; }
  static const torch::Tensor& broadcast(const torch::Tensor& t, int64_t /*src*/ = 0) noexcept { return t; }
  /// Every rank's tensor, stacked: here one.
  static torch::Tensor all_gather(const torch::Tensor& t) { return t.unsqueeze(0); }

  /// Backward, with nothing to synchronize.
  template <class Module, class Backward>
  static void backward(Module&, const torch::Tensor&, bool /*sync*/, Backward&& run_backward) {
    run_backward();
  }
  template <class Module>
  static void after_manual_backward(Module&) noexcept {}
  static void on_exception(const std::exception&) noexcept {}

 private:
  torch::Device device_{torch::kCPU};
};

}  // namespace lightning::strategy
