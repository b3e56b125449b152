// Weights files for Python (see export/state_dict.hpp).
#include "lightning/export/state_dict.hpp"

namespace lightning {

torch::OrderedDict<std::string, torch::Tensor> read_state_dict(const std::filesystem::path& path) {
  const std::string who = "lightning: weights file '" + path.string() + "' ";
  c10::IValue root = checkpoint::read_value(path, "weights file").value;
  auto string_keyed = [](const c10::IValue& v) {
    return v.isGenericDict() && v.toGenericDict().keyType()->kind() == c10::TypeKind::StringType;
  };
  if (string_keyed(root)) {  // a Lightning checkpoint: its "state_dict" entry
    const auto d = root.toGenericDict();
    auto it = d.find(std::string("state_dict"));
    if (it != d.end() && it->value().isGenericDict()) root = it->value();
  }
  if (!string_keyed(root))
    throw CheckpointError(who + "holds " +
                          (root.isGenericDict() ? std::string("a dict with int keys") : checkpoint::describe(root)) +
                          "; expected a dict of tensors by name");
  torch::OrderedDict<std::string, torch::Tensor> out;
  for (const auto& e : root.toGenericDict()) {
    if (!e.value().isTensor())
      throw CheckpointError(who + "holds '" + e.key().toStringRef() + "' as " + checkpoint::describe(e.value()) +
                            "; expected a tensor");
    if (out.contains(e.key().toStringRef())) continue;
    out.insert(e.key().toStringRef(), e.value().toTensor());
  }
  return out;
}

void write_state_dict(const std::filesystem::path& path, const checkpoint::Dict& state) {
  checkpoint::Dict out(c10::StringType::get(), c10::TensorType::get());  // an OrderedDict, as Python's
  for (const auto& e : state) out.insert(e.key(), e.value().toTensor().detach().to(torch::kCPU).contiguous());
  checkpoint::write_value(path, out);
}

}  // namespace lightning
