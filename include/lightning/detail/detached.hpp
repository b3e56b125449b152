#pragma once
// detach() without a dispatched operator, for the hot paths that take it
// once per step (log()) or once per tensor of a checkpoint.
#include <torch/torch.h>

#include <utility>

namespace lightning::detail {

/// What `value.detach()` returns (the same storage and version counter, no
/// autograd history), made without a dispatched operator: the dispatched
/// detach (autograd and view bookkeeping) was about half of what log()
/// cost per step. Tensors of other kinds take the dispatched path.
inline torch::Tensor detached(const torch::Tensor& value) {
  if (!value.defined() || value.layout() != torch::kStrided || value.is_inference() || value.has_names())
    return value.detach();
  const c10::TensorImpl* impl = value.unsafeGetTensorImpl();
  auto out = impl->shallow_copy_and_detach(impl->version_counter(), /*allow_tensor_metadata_change=*/false);
  out->set_autograd_meta(nullptr);
  return torch::Tensor(std::move(out));
}

}  // namespace lightning::detail
