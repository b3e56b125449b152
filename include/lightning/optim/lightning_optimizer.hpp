#pragma once
// LightningOptimizer: what `optimizers()` hands a module in manual
// optimization. `step()` goes through the Trainer's precision (a loss scaler
// may skip it) and counts toward `global_step`, as Lightning's wrapper does.
#include <stdexcept>

#include "../detail/trainer_link.hpp"

namespace lightning {

template <class Opt>
class LightningOptimizer {
 public:
  LightningOptimizer(Opt& opt, detail::TrainerLink* link) noexcept : opt_(&opt), trainer_link_(link) {}

  void zero_grad() { opt_->zero_grad(); }
  /// Returns whether the step was taken (false when the loss scaler skipped it).
  bool step() {
    if (!trainer_link_ || !trainer_link_->manual_step) throw std::logic_error("LightningOptimizer::step(): no Trainer is running");
    return trainer_link_->manual_step(trainer_link_->trainer, opt_);
  }
  Opt& optimizer() noexcept { return *opt_; }
  Opt* operator->() noexcept { return opt_; }

 private:
  Opt* opt_;
  detail::TrainerLink* trainer_link_;
};

}  // namespace lightning
