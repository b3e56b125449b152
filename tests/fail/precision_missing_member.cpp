// expect: a precision policy needs `void backward(const torch::Tensor& loss)`
// A precision policy without backward: the Trainer names the missing member.
#include <lightning/lightning.hpp>
namespace L = lightning;
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
struct HalfDone {
  using policy_kind = L::policy_kind::precision;
  static constexpr const char* name = "half-done";
  void setup(const torch::Device&) {}
  L::precision::F32::NoGuard forward_context() { return {}; }
  template <class Mod>
  void convert_module(Mod&) {}
  template <class B>
  B convert_input(B b) { return b; }
  L::precision::StateDict state_dict() { return L::precision::StateDict(c10::StringType::get(), c10::AnyType::get()); }
  void load_state_dict(const L::precision::StateDict&) {}
};
L::Trainer<M, HalfDone> trainer;
