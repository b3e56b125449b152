#pragma once
// Manual optimization: training_step steps its optimizers itself
// (`manual_backward`, `LightningOptimizer::step`); the Trainer runs the
// precision's backward and step with their hooks and counts the steps.
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <tuple>

#include "../../hooks.hpp"
#include "../batches.hpp"
#include "result.hpp"

namespace lightning::loops {

template <class T>
class ManualOptimization {
 public:
  explicit ManualOptimization(T& t) : t_(t) {}

  /// training_step on `batch`; the batch stepped if global_step moved.
  template <class B>
  auto run(B& batch, int64_t batch_idx, bool /*is_last*/) {
    const int64_t steps_before = t_.module_link_.progress.global_step;
    using Out = decltype(Batches<T>::template step<hooks::training_step>(t_, batch, batch_idx));
    StepResult<Out> r{Batches<T>::template step<hooks::training_step>(t_, batch, batch_idx), false};
    r.stepped = t_.module_link_.progress.global_step != steps_before;
    return r;
  }

  /// The module's manual_backward(): the precision's backward (loss
  /// scaling), between on_before_backward and on_after_backward.
  static void backward(void* trainer, const torch::Tensor& loss) {
    auto& t = *static_cast<T*>(trainer);
    const auto fx = t.module_link_.fx;
    t.template hook<hooks::on_before_backward>(loss);
    t.precision_.backward(loss);
    t.strategy_.after_manual_backward(*t.model_);
    t.template hook<hooks::on_after_backward>();
    t.module_link_.fx = fx;  // later log() calls belong to the hook that called manual_backward
  }

  /// LightningOptimizer::step(): unscale, on_before_optimizer_step, the
  /// precision's step; counts toward global_step. Returns whether it stepped.
  static bool step(void* trainer, void* optimizer) {
    auto& t = *static_cast<T*>(trainer);
    const auto fx = t.module_link_.fx;
    bool found = false, stepped = false;
    std::apply(
        [&](auto&... slot) {
          ((static_cast<void*>(&slot.optimizer) == optimizer && !found ? (found = true, stepped = step(t, slot.optimizer), true)
                                                                       : false) ||
           ...);
        },
        *t.slots_);
    t.module_link_.fx = fx;
    if (!found) throw std::logic_error("LightningOptimizer::step(): the optimizer is not one of this Trainer's");
    return stepped;
  }

 private:
  template <class Opt>
  static bool step(T& t, Opt& opt) {
    t.precision_.unscale(opt);
    t.template hook<hooks::on_before_optimizer_step>(opt);
    const bool really = t.precision_.optimizer_step(opt);
    ++t.module_link_.progress.global_step;
    return really;
  }

  T& t_;
};

}  // namespace lightning::loops
