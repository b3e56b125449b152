// (see checkpoint/module_state.hpp)
#include "lightning/checkpoint/module_state.hpp"

#include "lightning/detail/detached.hpp"

namespace lightning::detail {

std::vector<std::pair<std::string, torch::Tensor>> state_entries(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto add_own = [&](const torch::nn::Module& m, const std::string& prefix) {
    for (const auto& p : m.named_parameters(/*recurse=*/false))
      if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : m.named_buffers(/*recurse=*/false))
      if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  };
  add_own(module, "");
  for (const auto& sub : module.named_modules("", /*include_self=*/false)) add_own(*sub.value(), sub.key() + ".");
  return out;
}

std::string shape_str(c10::IntArrayRef sizes) {
  std::string out = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

}  // namespace lightning::detail

namespace lightning::checkpoint {

Dict module_state_dict(const torch::nn::Module& module) {
  Dict out(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : lightning::detail::state_entries(module)) out.insert(name, lightning::detail::detached(t));
  return out;
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> stage_module_state_dict(const torch::nn::Module& module,
                                                                             const Dict& state, bool strict,
                                                                             const std::string& what) {
  const auto targets = lightning::detail::state_entries(module);
  std::string missing, unexpected, problems;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::unordered_set<std::string> known;
  for (const auto& [name, dst] : targets) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      missing += (missing.empty() ? "\"" : ", \"") + name + "\"";
      continue;
    }
    if (!it->value().isTensor()) {
      problems += "\n\tvalue for " + name + " is " + describe(it->value()) + ", expected a tensor.";
      continue;
    }
    const auto src = it->value().toTensor();
    if (src.sizes() != dst.sizes()) {
      problems += "\n\tsize mismatch for " + name + ": copying a param with shape " +
                  lightning::detail::shape_str(src.sizes()) + " from checkpoint, the shape in current model is " +
                  lightning::detail::shape_str(dst.sizes()) + ".";
      continue;
    }
    copies.emplace_back(dst, src);
  }
  for (const auto& e : state) {
    const std::string key = e.key().isString() ? e.key().toStringRef() : "<" + describe(e.key()) + ">";
    if (!known.count(key)) unexpected += (unexpected.empty() ? "\"" : ", \"") + key + "\"";
  }
  // PyTorch's order: missing, unexpected, then size mismatches.
  std::string errors;
  if (strict && !missing.empty()) errors += "\n\tMissing key(s) in state_dict: " + missing + ".";
  if (strict && !unexpected.empty()) errors += "\n\tUnexpected key(s) in state_dict: " + unexpected + ".";
  errors += problems;
  if (!errors.empty()) throw CheckpointError("lightning: Error(s) in loading state_dict for " + what + ":" + errors);
  return copies;
}

std::size_t tensor_bytes(const Dict& state) {
  std::size_t n = 0;
  for (const auto& e : state)
    if (e.value().isTensor()) n += e.value().toTensor().nbytes();
  return n;
}

void apply_module_state_dict(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& copies) {
  torch::NoGradGuard no_grad;
  for (const auto& [dst, src] : copies) dst.copy_(src);
}

void load_module_state_dict(torch::nn::Module& module, const Dict& state, bool strict, const std::string& what) {
  apply_module_state_dict(stage_module_state_dict(module, state, strict, what));
}

}  // namespace lightning::checkpoint
