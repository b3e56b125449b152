#pragma once
// A module's parameters and buffers as Python names them (`net.0.weight`),
// and loading them back with every mismatch reported before anything is copied.
#include <torch/torch.h>

#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dict.hpp"

namespace lightning {
namespace detail {

/// Python's state_dict order: each module's own parameters, then its
/// buffers, then its children's, depth first. Undefined tensors (a Linear
/// without bias) are left out, as Python leaves out None.
std::vector<std::pair<std::string, torch::Tensor>> state_entries(const torch::nn::Module& module);

/// `[8, 5]`, as PyTorch prints a shape in its errors.
std::string shape_str(c10::IntArrayRef sizes);

}  // namespace detail

namespace checkpoint {

/// `module.state_dict()`, in Python's order and with Python's dotted names.
/// The tensors are the module's own (detached), not copies.
Dict module_state_dict(const torch::nn::Module& module);

/// Checks `state` against `module`'s parameters and buffers and returns the
/// copies to make (destination, source), without changing anything. With
/// `strict`, missing and unexpected keys are errors (as PyTorch's
/// load_state_dict); shape mismatches always are. All problems are listed in
/// one error. `what` names the target in the error.
std::vector<std::pair<torch::Tensor, torch::Tensor>> stage_module_state_dict(
    const torch::nn::Module& module, const Dict& state, bool strict = true, const std::string& what = "module");

/// The bytes the tensors of a state dict take.
std::size_t tensor_bytes(const Dict& state);

/// Makes the copies stage_module_state_dict returned.
void apply_module_state_dict(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& copies);

/// Copies `state` into `module`'s parameters and buffers: nothing is
/// copied unless everything fits (see stage_module_state_dict).
void load_module_state_dict(torch::nn::Module& module, const Dict& state, bool strict = true,
                                   const std::string& what = "module");

}  // namespace checkpoint
}  // namespace lightning
