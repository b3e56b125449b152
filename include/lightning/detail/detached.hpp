#pragma once
// detach() without a dispatched operator, for the hot paths that take it
// once per step (log()) or once per tensor of a checkpoint.
#include <torch/torch.h>

#include <typeinfo>
#include <utility>

namespace lightning::detail {

/// What `value.detach()` returns (the same storage and version counter, no
/// autograd history; not marked as a view of `value`), made without a
/// dispatched operator: the dispatched detach (autograd and view
/// bookkeeping) was about half of what log() cost per step. Only a plain
/// dense TensorImpl takes this path: subclasses (functorch's batched and
/// functional wrappers, sparse, ...) and named or inference tensors take
/// the dispatched one.
inline torch::Tensor detached(const torch::Tensor& value) {
  if (!value.defined() || typeid(*value.unsafeGetTensorImpl()) != typeid(c10::TensorImpl) ||
      value.layout() != torch::kStrided || value.is_inference() || value.has_names())
    return value.detach();
  const c10::TensorImpl* impl = value.unsafeGetTensorImpl();
  auto out = impl->shallow_copy_and_detach(impl->version_counter(), /*allow_tensor_metadata_change=*/false);
  out->set_autograd_meta(nullptr);
  return torch::Tensor(std::move(out));
}

}  // namespace lightning::detail
