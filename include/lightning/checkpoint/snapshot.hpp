#pragma once
// Snapshots: a checkpoint value copied so that another thread can serialize
// it while training goes on (the asynchronous checkpoint IO's first step).
#include <torch/torch.h>

namespace lightning::checkpoint {

/// A copy of `value` that later changes to the training state cannot
/// reach: every CPU tensor's memory copied once per storage (views and tied
/// weights still share it, as write_value stores them), a device tensor
/// copied to the host on its own (as write_value does), every container
/// copied. What write_value would refuse (an undefined or sparse tensor, an
/// unsupported type) is refused here, at once.
/// What an asynchronous checkpoint write serializes on its own thread.
c10::IValue snapshot(const c10::IValue& value);
/// snapshot() of a value handed over (moved in): its containers that
/// nothing else references are reused, not copied (tensors are still copied).
c10::IValue snapshot_consuming(c10::IValue value);

}  // namespace lightning::checkpoint
