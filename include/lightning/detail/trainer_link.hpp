#pragma once
// What a running Trainer shares with the module it trains: loop progress for
// `current_epoch()`/`global_step()`, and the context `log()` records into.
#include <torch/torch.h>

#include <cstdint>

#include "fx.hpp"
#include "results.hpp"

namespace lightning::detail {

struct LoopProgress {
  int64_t current_epoch = 0;
  int64_t global_step = 0;  // optimizer steps taken
  bool sanity_checking = false;
  bool training = false, validating = false, testing = false, predicting = false;
};

struct TrainerLink {
  LoopProgress progress;
  Fx fx = Fx::none;             // the hook running now
  uint64_t call_id = 0;         // bumped at every hook call: tells one call from the next
  ResultCollection* results = nullptr;
  // The current batch, type-erased: its size is read only when a log needs it.
  const void* batch = nullptr;
  int64_t (*batch_size_of)(const void*) = nullptr;
  int64_t batch_size_cache = -1;
  // Manual optimization reaches the Trainer through these (type-erased: the
  // module's type does not depend on the Trainer's).
  void* trainer = nullptr;
  const void* view_ops = nullptr;  // the running Trainer's TrainerView::Ops
  void* optimizer_slots = nullptr;
  void (*manual_backward)(void* trainer, const torch::Tensor& loss) = nullptr;
  bool (*manual_step)(void* trainer, void* optimizer) = nullptr;

  template <class B>
  void set_batch(const B& b, int64_t (*size_of)(const void*)) noexcept {
    batch = &b;
    batch_size_of = size_of;
    batch_size_cache = -1;
  }
  void clear_batch() noexcept {
    batch = nullptr;
    batch_size_of = nullptr;
    batch_size_cache = -1;
  }
  int64_t current_batch_size() {
    if (batch_size_cache < 0) batch_size_cache = batch_size_of ? batch_size_of(batch) : 1;
    return batch_size_cache;
  }
};

}  // namespace lightning::detail
