// (see checkpoint/rng.hpp)
#include "lightning/checkpoint/rng.hpp"

namespace lightning::checkpoint {

torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

Dict rng_state() {
  Dict out = make_dict();
  out.insert("torch", cpu_rng_state());
  List cuda = make_list();
  for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
    auto gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    cuda.push_back(gen.get_state());
  }
  out.insert("torch.cuda", cuda);
  out.insert("lightning_seed", static_cast<int64_t>(lightning::detail::global_seed().load()));
  return out;
}

void set_rng_state(const Dict& d) {
  if (d.size() == 0) return;  // none stored (a Lightning checkpoint): the generators go on as they are
  set_cpu_rng_state(get<torch::Tensor>(d, "torch", "rng_states"));
  const auto cuda = get<List>(d, "torch.cuda", "rng_states");
  const auto n =
      std::min<int64_t>(static_cast<int64_t>(cuda.size()), static_cast<int64_t>(torch::cuda::device_count()));
  for (int64_t i = 0; i < n; ++i) {
    auto gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cuda.get(i).toTensor());
  }
  lightning::detail::global_seed().store(static_cast<uint64_t>(get<int64_t>(d, "lightning_seed", "rng_states")));
}

}  // namespace lightning::checkpoint
