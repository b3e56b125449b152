#pragma once
// Weights for Python: a module's parameters and buffers as the file that
// `torch.save(model.state_dict(), path)` writes, under the names a Python
// module of the same structure has (`net.0.weight`, `net.1.running_mean`).
//
//   L::save_state_dict(model, "weights.pt");   // Python: model.load_state_dict(torch.load("weights.pt"))
//   L::load_state_dict(model, "weights.pt");   // Python: torch.save(model.state_dict(), "weights.pt")
//
// Files are read by the library's bounded reader (checkpoint/file.hpp), which
// takes what torch.save writes (an OrderedDict, a plain or one-entry dict,
// a Lightning checkpoint) and nothing that would run code; they are written
// as Python writes them, so `torch.load(path, weights_only=True)` accepts them.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <type_traits>

#include "../checkpoint/file.hpp"
#include "../checkpoint/module_state.hpp"

namespace lightning {

namespace detail {
/// The torch::nn::Module behind a module, a ModuleHolder (torch::nn::Linear) or a shared_ptr.
template <class M>
decltype(auto) as_module(M& m) {
  if constexpr (std::is_base_of_v<torch::nn::Module, std::remove_cv_t<M>>) return (m);
  else return (*m);
}
}  // namespace detail

/// The tensors of a file written by `torch.save(state_dict, path)` (Python),
/// `L::save_state_dict` or `torch::pickle_save`, by name, in file order. A
/// PyTorch Lightning checkpoint (.ckpt) gives its "state_dict" entry.
torch::OrderedDict<std::string, torch::Tensor> read_state_dict(const std::filesystem::path& path);

/// Writes `state` (name -> tensor) as `torch.save(OrderedDict)` would, atomically.
void write_state_dict(const std::filesystem::path& path, const checkpoint::Dict& state);

/// Writes `module`'s parameters and buffers to `path` (through a temporary
/// file, fsync'ed, then renamed): Python's `torch.load(path)` reads it as a
/// dict of tensors that `model.load_state_dict` takes.
template <class M>
void save_state_dict(const M& module, const std::filesystem::path& path) {
  write_state_dict(path, checkpoint::module_state_dict(detail::as_module(module)));
}

/// Copies the tensors of `path` (see read_state_dict) into `module`'s
/// parameters and buffers, by name, as Python's `model.load_state_dict`:
/// with `strict`, a name missing from the file or unknown to the module is an
/// error; a shape that differs always is. All problems are listed in one
/// error, and nothing is copied unless everything fits.
template <class M>
void load_state_dict(M& module, const std::filesystem::path& path, bool strict = true) {
  const auto file = read_state_dict(path);
  checkpoint::Dict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& item : file) dict.insert(item.key(), item.value());
  auto& target = detail::as_module(module);
  checkpoint::load_module_state_dict(target, dict, strict, "'" + path.string() + "' into " + target.name());
}

}  // namespace lightning
