// expect: a strategy policy needs `bool reduce_boolean_decision(bool decision, bool all)`
// A strategy without reduce_boolean_decision: the Trainer names the missing member.
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
struct Partial {
  using policy_kind = L::policy_kind::strategy;
  void setup_environment(const L::TrainerOptions&) {}
  const torch::Device& root_device() const { return device; }
  template <class Mod>
  void setup_module(Mod&) {}
  template <class B>
  B batch_to_device(B b) { return b; }
  int64_t world_size() const { return 1; }
  int64_t global_rank() const { return 0; }
  int64_t local_rank() const { return 0; }
  int64_t node_rank() const { return 0; }
  bool is_global_zero() const { return true; }
  void barrier() {}
  torch::Tensor reduce(const torch::Tensor& t, L::Reduce) { return t; }
  torch::Device device{torch::kCPU};
};
L::Trainer<M, Partial> trainer;
