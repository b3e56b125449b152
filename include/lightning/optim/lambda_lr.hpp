#pragma once
// LambdaLR: PyTorch's torch.optim.lr_scheduler.LambdaLR (1.13), value for value.
#include <torch/torch.h>

#include <functional>

#include "scheduler_base.hpp"

namespace lightning::optim {

class LambdaLR;

/// `LambdaLR(opt, {.lr_lambda = [](int64_t epoch) { return std::pow(0.95, epoch); }})`;
/// set exactly one of `lr_lambda` (every group) or `lr_lambdas` (one per group).
struct LambdaLROptions {
  using scheduler_type = LambdaLR;
  using Lambda = std::function<double(int64_t)>;
  Lambda lr_lambda = {};                ///< epoch -> factor of each group's initial lr
  std::vector<Lambda> lr_lambdas = {};  ///< or one such function per param group
};

/// Sets every group's lr to its initial lr times `lr_lambda(last_epoch)`.
class LambdaLR : public detail::LRScheduler<LambdaLR> {
 public:
  using options_type = LambdaLROptions;

  /// Sets last_epoch = 0 and the initial lrs (initial lr * lr_lambda(0)), as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler (shared by schedulers of one optimizer).
  LambdaLR(torch::optim::Optimizer& optimizer, LambdaLROptions options, std::vector<double>* initial_lr = nullptr)
      : LRScheduler(optimizer, initial_lr), lr_lambdas_(validated(std::move(options), num_groups())) {
    initial_step();
  }

  static constexpr const char* name() noexcept { return "LambdaLR"; }

  /// PyTorch's keys; the functions are not saved: `lr_lambdas` holds one None
  /// per group, as PyTorch writes for plain functions and lambdas.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    save_base(d);
    c10::impl::GenericList nones(c10::NoneType::get());
    for (std::size_t i = 0; i < lr_lambdas_.size(); ++i) nones.push_back(c10::IValue());
    d.insert_or_assign("lr_lambdas", nones);
    return d;
  }

 private:
  friend class detail::LRScheduler<LambdaLR>;

  // load_state_dict's reading part: the functions stay those given to the constructor.
  auto read_state(const detail::StateReader&) {
    return [] {};
  }

  static std::vector<LambdaLROptions::Lambda> validated(LambdaLROptions o, std::size_t groups) {
    const bool one = static_cast<bool>(o.lr_lambda);
    if (one == !o.lr_lambdas.empty())
      throw std::invalid_argument(
          "LambdaLR: expected exactly one of lr_lambda (for every param group) or lr_lambdas (one per group)");
    if (one) return std::vector<LambdaLROptions::Lambda>(groups, o.lr_lambda);
    if (o.lr_lambdas.size() != groups)
      throw std::invalid_argument("LambdaLR: expected " + std::to_string(groups) + " lr_lambdas, but got " +
                                  std::to_string(o.lr_lambdas.size()));
    for (const auto& f : o.lr_lambdas)
      if (!f) throw std::invalid_argument("LambdaLR: lr_lambdas holds an empty function");
    return std::move(o.lr_lambdas);
  }

  std::vector<double> chainable_lr() const {
    std::vector<double> lrs;
    for (std::size_t i = 0; i < lr_lambdas_.size() && i < base_lrs().size(); ++i)
      lrs.push_back(base_lrs()[i] * lr_lambdas_[i](last_epoch()));
    return lrs;
  }

  std::vector<LambdaLROptions::Lambda> lr_lambdas_;
};

}  // namespace lightning::optim
