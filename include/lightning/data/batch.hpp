#pragma once
// The batch type of in-memory loaders, moving batches to a device, and the
// batch size `log()` weighs epoch means with.
#include <torch/torch.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "apply_to_collection.hpp"

namespace lightning {

/// An (input, target) pair: `auto [x, y] = batch;`. The same type LibTorch's
/// loaders yield with `Stack<>`, so both kinds of loader fit one module.
using Batch = torch::data::Example<>;

namespace data {

/// Moves every tensor of `batch` to `device`. A user type takes part by a
/// member `to(device)` or an ADL-found `transfer_batch_to_device(batch, device)`;
/// the module's own `transfer_batch_to_device` hook comes first (see Trainer).
template <class B>
B transfer_batch_to_device(B batch, const torch::Device& device) {
  if constexpr (requires { batch.to(device); } && !std::is_same_v<B, torch::Tensor>) {
    return batch.to(device);
  } else {
    return map_tensors(std::move(batch), [&](torch::Tensor t) {
      // Same device: no dispatch at all, so a CPU run pays nothing.
      return t.device() == device ? t : t.to(device, /*non_blocking=*/true);
    });
  }
}

/// The size of the first dimension of the first tensor in `batch` (Lightning's
/// `extract_batch_size`), 1 if it holds no tensor with a dimension.
template <class B>
int64_t extract_batch_size(const B& batch) {
  int64_t size = 1;
  visit_tensors(batch, [&](const torch::Tensor& t) {
    if (t.dim() == 0) return false;
    size = t.size(0);
    return true;
  });
  return size;
}

}  // namespace data
}  // namespace lightning
