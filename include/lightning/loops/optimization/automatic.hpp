#pragma once
// Automatic optimization: one batch's training_step, then zero_grad,
// backward and the optimizer step as accumulation says (Lightning's
// _AutomaticOptimization and the order of LIGHTNING_SEMANTICS.md).
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../../connectors/optimizers.hpp"
#include "../../hooks.hpp"
#include "../../optim/clipping.hpp"
#include "../../optim/configure.hpp"
#include "../batches.hpp"
#include "result.hpp"

namespace lightning::loops {

namespace detail {
template <class>
inline constexpr bool always_false = false;

/// The loss inside what `training_step` returned: the tensor itself, a
/// `loss` member, or a map's "loss" entry.
template <class Out>
torch::Tensor loss_of(const Out& out) {
  if constexpr (std::is_convertible_v<const Out&, torch::Tensor>) {
    return out;
  } else if constexpr (requires { out.loss; }) {
    return out.loss;
  } else if constexpr (requires { out.find("loss") == out.end(); }) {
    auto it = out.find("loss");
    if (it == out.end()) throw std::invalid_argument("training_step returned a map without a \"loss\" entry");
    return it->second;
  } else {
    static_assert(always_false<Out>,
                  "lightning: training_step must return the loss tensor, a struct with a `loss` member, "
                  "or a map with a \"loss\" entry");
  }
}

/// `outputs["loss"]` seen by `on_train_batch_end` is the loss divided by the accumulation.
template <class Out>
void set_loss(Out& out, const torch::Tensor& loss) {
  if constexpr (std::is_same_v<Out, torch::Tensor>) out = loss;
  else if constexpr (requires { out.loss = loss; }) out.loss = loss;
  else if constexpr (requires { out["loss"] = loss; }) out["loss"] = loss;
}
}  // namespace detail

template <class T>
class AutomaticOptimization {
 public:
  explicit AutomaticOptimization(T& t) : t_(t) {}

  /// training_step on `batch`, then backward and (when the accumulated
  /// group is complete) the step. An undefined loss skips the batch, as
  /// returning None does in Lightning.
  template <class B>
  auto run(B& batch, int64_t batch_idx, bool is_last) {
    static_assert(!std::is_void_v<decltype(t_.model_->training_step(batch, batch_idx))>,
                  "lightning: with automatic optimization training_step must return the loss");
    StepResult<decltype(Batches<T>::template step<hooks::training_step>(t_, batch, batch_idx))> r{
        Batches<T>::template step<hooks::training_step>(t_, batch, batch_idx), false};
    torch::Tensor loss = detail::loss_of(r.output);
    if (!loss.defined()) {
      if (t_.strategy_.world_size() > 1)
        throw std::logic_error("lightning: training_step returned no loss on rank " +
                               std::to_string(t_.strategy_.global_rank()) +
                               " under DDP; every rank must step together, so skipping a batch is not supported "
                               "there: return a loss (e.g. multiplied by 0) instead");
      return r;
    }
    const int64_t accumulate = t_.opts_.accumulate;
    auto& opt = t_.optimizer();
    if (accumulate == 1 || batch_idx % accumulate == 0) {
      t_.template hook<hooks::on_before_zero_grad>(opt);
      opt.zero_grad();
    }
    if (accumulate != 1) {
      loss = loss / static_cast<double>(accumulate);
      detail::set_loss(r.output, loss);
    }
    const bool will_step = accumulate == 1 || (batch_idx + 1) % accumulate == 0 || is_last;
    t_.template hook<hooks::on_before_backward>(loss);
    t_.strategy_.backward(*t_.model_, loss, /*sync=*/will_step, [&] { t_.precision_.backward(loss); });
    t_.template hook<hooks::on_after_backward>();
    if (will_step) {
      step(opt, batch_idx, is_last);
      r.stepped = true;
    }
    return r;
  }

 private:
  /// Lightning's order: unscale, on_before_optimizer_step, clip, step (or
  /// skip), step-interval schedulers (only after a step that happened).
  template <class Opt>
  void step(Opt& opt, int64_t batch_idx, bool is_last) {
    t_.precision_.unscale(opt);
    t_.template hook<hooks::on_before_optimizer_step>(opt);
    clip(opt);
    const bool really = t_.precision_.optimizer_step(opt);
    ++t_.module_link_.progress.global_step;
    if (really) {
      connectors::Optimizers<T> schedulers(t_);
      schedulers.template step_schedulers</*plateau=*/false>(Interval::step, batch_idx);
      if (is_last) schedulers.template step_schedulers<false>(Interval::epoch, t_.module_link_.progress.current_epoch);
    }
  }

  template <class Opt>
  void clip(Opt& opt) {
    const double value = t_.opts_.user.gradient_clip_val;
    const auto algorithm = t_.opts_.user.gradient_clip_algorithm;
    if constexpr (requires { t_.model_->configure_gradient_clipping(opt, value, algorithm); }) {
      t_.model_->configure_gradient_clipping(opt, value, algorithm);  // the module's override
    } else {
      if (value > 0) clip_gradients(opt, value, algorithm);
    }
  }

  T& t_;
};

}  // namespace lightning::loops
